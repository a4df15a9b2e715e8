/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One dcache device (a dm target instance) and what its files share:
 * dcache_mod.c (table, status, messages, lifecycle), io.c (the bio paths)
 * and flush.c (write-back and the flush thread).
 */
#ifndef DCACHE_TARGET_H
#define DCACHE_TARGET_H

/* Every DMERR and DMWARN of the module: defined once, before the header. */
#define DM_MSG_PREFIX "dcache"
#include <linux/device-mapper.h>
#include <linux/workqueue.h>
#include <linux/atomic.h>
#include <linux/mempool.h>
#include <linux/completion.h>
#include <linux/llist.h>
#include <linux/wait.h>
#include <linux/sizes.h>

#include "dcache.h"
#include "dcache_admit.h"
#include "dcache_flush.h"
#include "dcache_table.h"

struct dcache_dev_stats {
	atomic64_t reads;
	atomic64_t read_hits;
	atomic64_t read_bypasses;	/* blocks read around the cache */
	atomic64_t read_aheads;		/* blocks loaded ahead of a stream */
	atomic64_t quick_flushes;	/* flushes that needed no round */
	atomic64_t writes;
	atomic64_t write_hits;
	atomic64_t flushes;
	atomic64_t write_throttles;	/* writes held for max_age_ms */
	atomic64_t write_arounds;	/* blocks written around the cache */
};

struct dcache_dev {
	struct dm_target *ti;
	struct dm_dev *backing;
	struct dcache_part *part;
	struct workqueue_struct *wq;	/* bios that wait: misses, flushes */
	/*
	 * Ended read misses and write-arounds whose blocks await unpinning,
	 * in one work run, or by the next write-around.
	 */
	struct llist_head misses_done;
	struct delayed_work unpin_work;
	struct dcache_writer *wr;	/* its write-back (flush.c) */
	unsigned int block_size;
	unsigned int block_shift;	/* log2 of sectors per block */
	enum dcache_mode mode;		/* READ_ONCE: a message may change it */
	unsigned int max_age_ms;	/* ordered: the disk lags at most this */
	unsigned int sequential_cutoff;	/* bytes; READ_ONCE, 0: off */
	unsigned int readahead;		/* bytes; READ_ONCE, 0: off */
	unsigned int read_admit;	/* READ_ONCE: cache on the 1st or 2nd miss */
	struct dcache_admit admit;	/* misses read around (admit.c) */
	struct work_struct admit_work;	/* sizes it again after a pool resize; system_wq */
	/* The read stream being followed (io.c), racy by design: a hint. */
	sector_t stream_next;		/* where the last read ended */
	u64 stream_bytes;		/* how long the stream is so far */
	u64 ahead_end;			/* the block after the last one read ahead */
	/* Loads ahead in flight, which no bio of dm's waits for. */
	atomic_t aheads_in_flight;
	wait_queue_head_t aheads_wait;
	/*
	 * Whether the device's writer flushes after every write: writes
	 * since the last flush (counted to 2), and whether the last flush
	 * came after a single one (io.c: write-around). What map() did not
	 * keep of the last write, what dm split off it at a max_io_len
	 * boundary, or the next bio of a write of write_extent sectors so
	 * far, 1 MiB or more, comes as a new bio at write_rest before any
	 * flush: the same write, which goes around (or not) as its start
	 * did: write_rest_around. Hints too.
	 */
	unsigned int writes_since_flush;
	bool sync_writer;
	bool write_rest_around;
	sector_t write_rest;
	sector_t write_extent;
	struct dcache_dev_stats stats;
};

/* The most map() takes at once: dm splits larger bios at this alignment. */
#define DCACHE_MAX_IO_SECTORS	(SZ_1M >> SECTOR_SHIFT)

/* What a bio asks for, decided once in map() (io.c). */
enum dcache_io_kind {
	DCACHE_IO_READ,
	DCACHE_IO_WRITE,
	DCACHE_IO_FLUSH,	/* REQ_PREFLUSH, which dm sends empty */
	DCACHE_IO_DISCARD,
	DCACHE_IO_WRITE_AROUND,	/* a write map() sent on to the disk */
	DCACHE_IO_UNSUPPORTED,
};

struct pinned_run;

/*
 * Per-bio data, filled in by map() and read again by the work item: the
 * bio's kind and, for reads and writes, the block it starts in and the
 * bytes of that block it covers. map() serves a bio of many blocks itself
 * or hands the work item one block of it at a time (io.c).
 */
struct dcache_io {
	struct work_struct work;
	struct dcache_dev *dd;
	enum dcache_io_kind kind;
	u64 block;
	unsigned int offset;		/* bytes into the block */
	unsigned int len;		/* bytes */
	struct dcache_flush_req quick;	/* a flush's quick flush */
	/* A write-around's blocks; NULL: it claimed uncached_nr blocks in uncached_slot. */
	struct pinned_run *around;
	unsigned int uncached_slot;
	unsigned int uncached_nr;
	bool fua;			/* ... and whether it was FUA */
};

extern struct dcache *dcache_shared;

/* params.c */
extern unsigned int dcache_pool_mb;
extern unsigned int dcache_dirty_percent;
extern unsigned int dcache_flush_delay_ms;
extern unsigned int dcache_device_dirty_percent;
enum dcache_mode dcache_default_mode(void);
bool dcache_debug_check(void);
u64 dcache_pool_mb_max(void);
const struct dcache_policy_ops *dcache_policy_param(void);

/* stats.c */
int dcache_stats_init(struct dcache *c);
void dcache_stats_exit(void);

int dcache_map_bio(struct dcache_dev *dd, struct bio *bio);
int dcache_end_bio(struct dcache_dev *dd, struct bio *bio, blk_status_t *status);
void dcache_unpin_misses(struct work_struct *work);
void dcache_admit_resize_work(struct work_struct *work);
void dcache_wait_aheads(struct dcache_dev *dd);

#endif
