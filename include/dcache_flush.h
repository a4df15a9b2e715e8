/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flusher (flush.c): one thread per cache instance that writes dirty
 * blocks back in epoch order, and one writer per part that carries out
 * that part's stages on its own workqueue through the part's operations.
 * The module makes one flusher for the shared cache; KUnit makes private
 * ones over fake disks, so tests run the same rounds as production.
 */
#ifndef DCACHE_FLUSH_H
#define DCACHE_FLUSH_H

#include <linux/mempool.h>
#include <linux/completion.h>
#include <linux/mutex.h>

#include "dcache.h"
#include "dcache_kick.h"

/* Blocks per write-back pass of a part: 1 MiB of 4 KiB blocks. */
#define DCACHE_WB_BLOCKS 256

struct dcache_flusher;

/* A part's write-back state. */
struct dcache_writer {
	struct dcache_flusher *flusher;
	struct dcache_part *part;
	char name[32];			/* for log lines */
	struct list_head link;		/* flusher.writers, under devs_lock */
	bool listed;			/* under devs_lock */
	bool suspended;			/* under devs_lock: rounds leave it out */
	bool failed;			/* this round: later stages skip it */
	bool queued;			/* a job of this stage is queued */
	struct workqueue_struct *wq;	/* its stage jobs */
	struct work_struct work;
	struct completion done;		/* the stage job ended */
	u64 epoch;			/* stage being written; 0: only a flush */
	int stage_error;		/* of the last stage job */
	unsigned int bios;		/* of the last stage job (trace) */
	atomic_t flush_owed;		/* writes reached the disk, no flush since */
	atomic64_t durable_epoch;	/* every epoch up to it is on the disk */
	atomic_t error;			/* last write-back error, 0 if fine */
	atomic64_t write_errors;	/* blocks whose write failed */
	u64 *addrs;
	struct dcache_wb_block *blocks;
	mempool_t *pages;
	atomic_t pending;		/* bios in flight, plus one */
	struct completion bios_done;
};

struct dcache_flusher {
	struct task_struct *task;
	struct dcache *cache;
	const unsigned int *delay_ms;	/* the flush delay knob */
	struct mutex devs_lock;		/* writers; held across a round */
	struct list_head writers;
	struct dcache_kick kick;	/* when rounds run (kick.c) */
	unsigned int backoff_ms;	/* after a failed round; flusher thread only */
	atomic64_t durable;		/* every writer has every epoch up to it */
};

extern bool dcache_trace_stages;

struct dcache_flusher *dcache_flusher_create(struct dcache *c,
					     const unsigned int *delay_ms);
void dcache_flusher_destroy(struct dcache_flusher *fl);
void dcache_flusher_kick_within(struct dcache_flusher *fl, unsigned int ms);

struct dcache_writer *dcache_writer_create(struct dcache_flusher *fl,
					   struct dcache_part *part,
					   const char *name);
void dcache_writer_destroy(struct dcache_writer *wr);
void dcache_writer_start(struct dcache_writer *wr);
void dcache_writer_stop(struct dcache_writer *wr);
void dcache_writer_suspend(struct dcache_writer *wr, bool suspended);
int dcache_writer_flush(struct dcache_writer *wr);
int dcache_writer_wait(struct dcache_writer *wr, u64 addr, bool ordered);
int dcache_writer_wait_progress(struct dcache_writer *wr, int gen,
				unsigned long since);
void dcache_writer_owe_flush(struct dcache_writer *wr);

#endif
