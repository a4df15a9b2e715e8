/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flusher (flush.c) of a cache instance, and one writer per part that
 * runs the part's rounds of write-back in epoch order, as work items on
 * the flusher's workqueue, through the part's operations. The module
 * makes one flusher for the shared cache; KUnit makes private ones over
 * fake disks, so tests run the same rounds as production.
 */
#ifndef DCACHE_FLUSH_H
#define DCACHE_FLUSH_H

#include <linux/mempool.h>
#include <linux/completion.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/atomic.h>

#include "dcache.h"
#include "dcache_kick.h"

/* Blocks per write-back pass of a part: 1 MiB of 4 KiB blocks. */
#define DCACHE_WB_BLOCKS 256

/*
 * Passes of one stage in flight at once: the disk sees the next pass's
 * writes while the last ones complete, not an empty queue between passes.
 */
#define DCACHE_WB_PASSES 4

/*
 * A stage of at most this many blocks, on a disk that does FUA writes
 * itself, is written with FUA instead of plain writes and a flush: one
 * round trip instead of two, and no flush of the disk's whole cache.
 */
#define DCACHE_FUA_BLOCKS 16

/*
 * A flush of a part with at most this many dirty blocks, all of its open
 * epoch, writes them itself, with no round (dcache_writer_quick_flush).
 */
#define DCACHE_QUICK_BLOCKS 16

struct dcache_flusher;
struct dcache_writer;

/* A quick flush's caller: @done(req, 0 or error) once it ends. */
struct dcache_flush_req {
	void (*done)(struct dcache_flush_req *req, int error);
	u64 closed;			/* the epoch it writes */
};

/* One pass of a stage: up to DCACHE_WB_BLOCKS copies and their writes. */
struct dcache_wb_pass {
	struct dcache_writer *wr;
	u64 *addrs;			/* sorted; addrs[i] is blocks[i]'s */
	struct dcache_wb_block *blocks;
	unsigned int nr;		/* copies taken */
	bool fua;			/* written with FUA: needs no flush */
	bool quick;			/* a quick flush's, until quick_work ends its writes */
	atomic_t pending;		/* writes in flight, plus one */
	struct completion done;
};

/* A part's write-back state and its rounds. */
struct dcache_writer {
	struct dcache_flusher *flusher;
	struct dcache_part *part;
	char name[32];			/* for log lines */
	struct list_head link;		/* flusher.writers */
	struct mutex round_lock;	/* a round; listed, suspended */
	bool listed;
	bool suspended;			/* rounds do nothing */
	struct dcache_kick kick;	/* when rounds run (kick.c) */
	struct delayed_work round_work;	/* runs a due round */
	unsigned int backoff_ms;	/* after a failed round; round_work only */
	u64 stage_epoch;		/* the stage under way; 0: only a flush */
	int round_result;		/* of the last round: 0, -EAGAIN or error */
	unsigned int bios;		/* of the last stage (trace) */
	atomic64_t fua_stages;		/* stages written with FUA, no flush */
	unsigned int stage_us;		/* average stage time; READ_ONCE */
	atomic_t flush_owed;		/* writes reached the disk, no flush since */
	atomic64_t durable_epoch;	/* every epoch up to it is on the disk */
	atomic_t error;			/* last write-back error, 0 if fine */
	atomic64_t write_errors;	/* blocks whose write failed */
	/* A round's passes, a ring: under round_lock. */
	struct dcache_wb_pass passes[DCACHE_WB_PASSES];
	mempool_t *pages;		/* copies; a pass's worth in reserve */
	bool starve_passes;		/* KUnit: later passes find no page */
	/* A quick flush in flight, or NULL: rounds wait for it to end. */
	struct dcache_flush_req *quick;
	struct work_struct quick_work;	/* after its writes, or a failed flush */
	int quick_owed;			/* flush_owed when its flush was sent */
};

struct dcache_flusher {
	struct dcache *cache;
	const unsigned int *delay_ms;	/* the flush delay knob */
	struct workqueue_struct *wq;	/* every writer's rounds */
	struct workqueue_struct *quick_wq;	/* quick flushes' steps */
	struct mutex writers_mutex;	/* writers: start, stop, wait_round */
	spinlock_t writers_lock;	/* writers: kicks */
	struct list_head writers;
};

extern bool dcache_trace_stages;	/* params.c */

struct dcache_flusher *dcache_flusher_create(struct dcache *c,
					     const unsigned int *delay_ms);
void dcache_flusher_destroy(struct dcache_flusher *fl);
void dcache_writer_kick_within(struct dcache_writer *wr, unsigned int ms);

struct dcache_writer *dcache_writer_create(struct dcache_flusher *fl,
					   struct dcache_part *part,
					   const char *name);
void dcache_writer_destroy(struct dcache_writer *wr);
void dcache_writer_start(struct dcache_writer *wr);
void dcache_writer_stop(struct dcache_writer *wr);
void dcache_writer_suspend(struct dcache_writer *wr, bool suspended);
int dcache_writer_flush(struct dcache_writer *wr);
int dcache_writer_flush_killable(struct dcache_writer *wr);
int dcache_writer_quick_flush(struct dcache_writer *wr,
			      struct dcache_flush_req *req);
int dcache_writer_drain(struct dcache_writer *wr);
int dcache_writer_wait(struct dcache_writer *wr, u64 addr, bool ordered);
int dcache_writer_throttle(struct dcache_writer *wr, unsigned int max_age);
bool dcache_writer_lagging(struct dcache_writer *wr, unsigned int max_age);
int dcache_writer_wait_progress(struct dcache_writer *wr, int gen,
				unsigned long since);
void dcache_writer_owe_flush(struct dcache_writer *wr);
bool dcache_writer_owes_flush(struct dcache_writer *wr);
unsigned int dcache_run_length(const u64 *addrs, unsigned int n, unsigned int max);

#endif
