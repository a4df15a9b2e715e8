/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The block cache core: venti's disk cache (../shared/seed) made an instance
 * so that the module shares one and KUnit tests make small private ones.
 *
 * A cache holds a fixed pool of blocks of one size (512 B .. PAGE_SIZE),
 * allocated at creation. Devices ("parts") register with a cache; a block is
 * keyed by (part id, block address). See cache.c for the locking rules.
 */
#ifndef DCACHE_H
#define DCACHE_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/atomic.h>
#include <linux/xarray.h>
#include <linux/workqueue.h>

#include "dcache_heap.h"

struct dcache;
struct dcache_part;
struct dcache_block;
struct block_device;
struct bio_set;

enum dcache_get_mode {
	DCACHE_READ,	/* shared lock; load on miss */
	DCACHE_RDWR,	/* exclusive lock; load on miss */
	DCACHE_WRITE,	/* exclusive lock; no load: the caller fills the block */
};

/* Block flags (bit numbers in dcache_block.flags). */
enum {
	DCACHE_B_VALID,		/* data matches the device or is newer */
	DCACHE_B_LOADING,	/* a read from the device fills the block */
	DCACHE_B_READ_ERROR,	/* the last load failed */
	DCACHE_B_DIRTY,		/* newer than the device; on the dirty list */
	DCACHE_B_WRITING,	/* a write-back copy of it is in flight */
	DCACHE_B_RETIRED,	/* its chunk is leaving the pool (resize) */
};

/* Blocks per chunk: the unit in which a pool grows and shrinks. */
#define DCACHE_CHUNK_BLOCKS 256

struct dcache_block {
	struct rw_semaphore lock;	/* the block's data and its VALID bit */
	struct hlist_node hash;		/* in dcache.hash when hashed */
	struct list_head link;		/* dcache.free while free */
	struct rb_node dirty_node;	/* its part's dirty tree while dirty */
	struct list_head part_link;	/* dcache_part.blocks while hashed */
	struct list_head load_waiters;	/* dcache_load_waiter.entry */
	struct dcache_lru lru;		/* LRU-2 history and heap slot */
	u64 addr;			/* block address in the part */
	/*
	 * Epochs, under dcache.lock. @epoch is the stage that must write the
	 * oldest data not yet on the disk: the data, or the copy taken of it
	 * (in flight, or kept after a failed write). @next_epoch is the
	 * epoch of the first write after that copy was taken, @last_epoch
	 * that of the newest write.
	 */
	u64 epoch;
	u64 next_epoch;
	u64 last_epoch;
	unsigned long flags;		/* DCACHE_B_* */
	struct dcache *cache;
	void *data;			/* block_size bytes in a pool page */
	struct page *kept;		/* copy of a failed write, for its retry */
	u32 index;			/* position in the pool */
	u32 refs;			/* pins; under dcache.lock */
	u32 dirty_gen;			/* bumped by every dcache_dirty() */
	u32 copied_gen;			/* dirty_gen when the copy was taken */
	u16 part_id;
	u8 hashed;			/* on the hash table, not the free list */
	u8 copy_void;			/* discarded while its copy was in flight */
};

struct dcache_writer;
struct dcache_flusher;

/* One block of a write-back pass: the copy that goes to the disk. */
struct dcache_wb_block {
	struct dcache_block *b;
	struct dcache_writer *wr;
	struct page *page;
	int error;
};

/*
 * Per-part device operations; the defaults (block_io.c) are bios to
 * part->bdev. submit_read fills the block and calls dcache_load_end().
 * submit_write writes @n adjacent copies from @first->b's address and
 * calls dcache_write_end(). flush makes earlier writes durable; discard
 * forgets @nr blocks from @addr; both wait. has_volatile_cache says
 * whether flush does anything.
 */
struct dcache_part_ops {
	void (*submit_read)(struct dcache_part *part, struct dcache_block *b);
	void (*submit_write)(struct dcache_part *part, struct dcache_wb_block *first,
			     unsigned int n);
	int (*flush)(struct dcache_part *part);
	int (*discard)(struct dcache_part *part, u64 addr, u64 nr);
	bool (*has_volatile_cache)(struct dcache_part *part);
};

/* An ordered-mode discard waiting for the stage of its epoch. */
struct dcache_discard {
	struct list_head link;
	u64 addr;
	u64 nr;
	u64 epoch;
};

struct dcache_part {
	struct dcache *cache;
	const struct dcache_part_ops *ops;
	struct block_device *bdev;
	void *private;
	struct dcache_writer *writer;	/* its write-back state (flush.c) */
	u16 id;
	unsigned int block_size;	/* I/O size, at most the pool's */
	/* Under dcache.lock: */
	u64 nr_blocks;		/* blocks cached for this part */
	u64 nr_dirty;		/* dirty blocks of this part */
	/* Its dirty blocks by epoch, first dirtied first within one epoch. */
	struct rb_root_cached dirty;
	struct list_head blocks;	/* its hashed blocks */
	struct list_head discards;	/* ordered discards, in epoch order */
	int wb_error;		/* write-back failing: new dirt refused at the share */
	bool suspended;		/* its device is suspended (flush.c) */
};

/* Called in process context when an asynchronous load ends. */
struct dcache_load_waiter {
	struct list_head entry;
	void (*done)(struct dcache_load_waiter *w, int error);
	int error;
};

/*
 * What the flusher (flush.c) offers the core, called under dcache.lock:
 * kick a round of @part's write-back now (NULL: of every part), kick one
 * after the flush delay, and (without the lock) wait for a round of every
 * part that starts after the call.
 */
struct dcache_flush_ops {
	void (*kick)(struct dcache *c, struct dcache_part *part);
	void (*kick_delayed)(struct dcache *c, struct dcache_part *part);
	int (*wait_round)(struct dcache *c);
};

struct dcache_chunk {
	u32 nr_blocks;
	struct page **pages;
	struct dcache_block blocks[];
};

struct dcache_config {
	u64 nr_blocks;
	u64 max_blocks;			/* most a resize may grow to; 0: nr_blocks */
	unsigned int block_size;
	u64 max_dirty;			/* 0: two thirds of the pool, as venti */
	unsigned int hash_buckets;	/* 0: sized to the pool; tests force 1 */
	u64 first_tick;			/* 0: 1; tests start near 2^32 */
	unsigned int fail_alloc_nth;	/* tests: fail the n-th allocation */
};

struct dcache_stats {
	atomic64_t hits;
	atomic64_t misses;
	atomic64_t reads;
	atomic64_t bytes_read;
	atomic64_t read_errors;
	atomic64_t writes;
	atomic64_t bytes_written;
	atomic64_t write_errors;
	atomic64_t stalls;
	atomic64_t evictions;
	atomic64_t rounds;
};

struct dcache {
	struct mutex lock;		/* everything below up to stats */
	struct hlist_head *hash;
	unsigned int hash_bits;
	struct list_head free;
	struct dcache_heap heap;
	u64 tick;
	u64 nr_free;
	u64 nr_dirty;
	u64 max_dirty;
	u64 max_part_dirty;		/* one part's share of dirty blocks */
	u64 epoch;			/* the open flush epoch, from 1 */
	struct xarray parts;		/* the parts by id; writes under lock */
	wait_queue_head_t free_wait;	/* stalled getters */
	wait_queue_head_t stage_wait;	/* writers held for a stage or a share */
	atomic_t stage_gen;		/* bumped before every stage_wait wake-up */

	spinlock_t waiters_lock;	/* load_waiters, ready_waiters */
	struct list_head ready_waiters;	/* loads ended, done() not yet run */
	struct work_struct load_work;	/* runs ready_waiters */
	struct workqueue_struct *load_wq;
	struct bio_set *bio_set;

	const struct dcache_flush_ops *flush_ops;
	struct dcache_flusher *flusher;	/* flush.c; flush_ops work on it */

	struct dcache_stats stats;
	struct mutex resize_lock;	/* one resize at a time; outermost */
	struct dcache_chunk **chunks;	/* [max_chunks]; chunks and counts below */
	u32 nr_chunks;			/* under lock */
	u32 max_chunks;
	u32 retire_from;		/* blocks from here are retiring; under lock */
	u64 nr_blocks;			/* under lock */
	u64 nr_retired;			/* under lock */
	unsigned int max_dirty_percent;	/* 0: max_dirty is fixed */
	unsigned int part_dirty_percent;	/* of the pool, for each part */
	unsigned int block_size;
	unsigned int fail_alloc_nth;
	unsigned int allocs_done;
	bool debug_check;		/* run dcache_check() on every put */
};

struct dcache *dcache_create(const struct dcache_config *cfg);
void dcache_destroy(struct dcache *c);

struct dcache_part *dcache_add_part(struct dcache *c, struct block_device *bdev,
				    unsigned int block_size,
				    const struct dcache_part_ops *ops,
				    void *private);
int dcache_remove_part(struct dcache_part *part);

int dcache_get(struct dcache_part *part, u64 addr, enum dcache_get_mode mode,
	       bool interruptible, struct dcache_block **out);
int dcache_get_cached(struct dcache_part *part, u64 addr,
		      enum dcache_get_mode mode, struct dcache_block **out);
struct dcache_block *dcache_try_get(struct dcache_part *part, u64 addr,
				    enum dcache_get_mode mode);
struct dcache_block *dcache_pin(struct dcache_part *part, u64 addr,
				bool wait, bool interruptible, int *error);
int dcache_lock_block(struct dcache_block *b, enum dcache_get_mode mode);
int dcache_load_async(struct dcache_block *b, struct dcache_load_waiter *w);
void dcache_unlock_block(struct dcache_block *b, enum dcache_get_mode mode);
void dcache_unpin(struct dcache_block *b);
void dcache_put(struct dcache_block *b, enum dcache_get_mode mode);
void dcache_dirty(struct dcache_block *b, u64 epoch);
int dcache_dirty_now(struct dcache_block *b, bool ordered);
bool dcache_write_must_wait(struct dcache_part *part, u64 addr, bool ordered);
void dcache_stage_progress(struct dcache *c);
u64 dcache_close_epoch(struct dcache *c);
u64 dcache_current_epoch(struct dcache *c);
void dcache_clean(struct dcache_block *b);
int dcache_get_for_copy(struct dcache_part *part, u64 addr, u64 epoch,
			struct dcache_block **out);
struct page *dcache_writeback_start(struct dcache_block *b);
bool dcache_writeback_end(struct dcache_block *b, int error, struct page **copy);
u64 dcache_next_stage(struct dcache *c, u64 max_epoch,
		      bool (*skip)(struct dcache_part *part));
u64 dcache_oldest_dirty_epoch(struct dcache_part *part);
unsigned int dcache_run_length(const u64 *addrs, unsigned int n, unsigned int max);
unsigned int dcache_collect_stage(struct dcache_part *part, u64 epoch,
				  u64 *addrs, unsigned int max);
void dcache_invalidate(struct dcache_block *b);
int dcache_discard_range(struct dcache_part *part, u64 addr, u64 nr,
			 struct dcache_discard *queue, u64 *epoch);
void dcache_take_discards(struct dcache_part *part, u64 epoch,
			  struct list_head *out);
u64 dcache_other_parts_dirty(struct dcache_part *part, bool failed_only);
u64 dcache_drop_part_dirty(struct dcache_part *part);
void dcache_set_part_error(struct dcache_part *part, int error);
void dcache_load_end(struct dcache_block *b, int error);
int dcache_check(struct dcache *c);
u64 dcache_nr_dirty(struct dcache *c);
u64 dcache_nr_free(struct dcache *c);

void *dcache_block_data(const struct dcache_block *b);
int dcache_resize(struct dcache *c, u64 nr_blocks);
void dcache_set_dirty_percent(struct dcache *c, unsigned int percent);
void dcache_set_part_dirty_percent(struct dcache *c, unsigned int percent);
void dcache_write_end(struct dcache_wb_block *first, unsigned int n, int error);
extern const struct dcache_part_ops dcache_bio_part_ops;
long dcache_live_allocations(void);

/* Between cache.c and pool.c only. */
#define DCACHE_BIOSET_SIZE 64
void dcache_count_allocation(long delta);
void dcache_run_ready_waiters(struct work_struct *work);
void dcache_update_max_dirty(struct dcache *c);
u64 dcache_retire_pass(struct dcache *c, u64 *dirty);
void dcache_unretire(struct dcache *c);

static inline bool dcache_block_valid(const struct dcache_block *b)
{
	return test_bit(DCACHE_B_VALID, &b->flags);
}

static inline bool dcache_block_dirty(const struct dcache_block *b)
{
	return test_bit(DCACHE_B_DIRTY, &b->flags);
}

#endif
