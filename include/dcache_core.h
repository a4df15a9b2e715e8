/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The inside of the block cache core, shared by its files and by KUnit:
 * cache.c (lookup, pin, lock and load of blocks), dirty.c (epochs, the
 * per-part dirty tree, stages, discards), part.c (the part registry and
 * the retirement of chunks for a resize), pool.c (creation, resize,
 * teardown), check.c (the invariant checker), and the eviction policy
 * (include/dcache_policy.h: heap.c, lru.c). Nothing else includes it:
 * the rest of the module uses include/dcache.h.
 *
 * Words used throughout:
 *   part    a device registered with a cache (a dcache target, or a fake
 *           disk in KUnit); blocks are keyed by (part id, block address).
 *   epoch   the writes between two flush points. Every write is dirt of
 *           the open epoch; a flush (in ordered mode also a FUA write)
 *           and every round close it, and the next one opens.
 *   stage   the write-back of one part's dirt of one closed epoch,
 *           followed by a flush of its disk; stages go oldest first, so a
 *           disk always holds an epoch boundary plus the stage under way.
 *   round   one run of a part's writer (flush.c): it closes the open
 *           epoch, then runs the stages of every closed one.
 *   kick    a request for a round, now or by a deadline (kick.c).
 *   retire  take a block out of use for good because its chunk leaves the
 *           pool (a shrink); a retired block is neither free nor hashed.
 *
 * Locking, in the only order in which locks may nest:
 *
 *   0. dcache.resize_lock (pool.c): one resize at a time; held while it
 *      waits for write-back, never taken under any lock below.
 *   1. dcache_block.lock, a rw_semaphore per block: the block's data. Held
 *      from get to put; may be held across I/O. A task holds at most one.
 *   2. dcache.lock, the global mutex: hash table, free list, dirty trees
 *      (in epoch order), the policy, refs, counts, the open epoch, the
 *      chunk table and retiring range, the part registry. Never held
 *      across I/O and never held while taking a block lock (a putter
 *      holding its block lock waits for the mutex).
 *
 * Block flags are atomic bits. DCACHE_B_LOADING is a bit lock owned by the
 * one getter filling the block from the device, which holds the block
 * lock (shared, or exclusive for a read-write get), or by the one backing
 * I/O of a pinned run (a read miss, a load ahead or a write-around:
 * cache.c, pin_run), set under the mutex on blocks nobody held and held
 * until that I/O ends. Every holder of the block lock waits for LOADING
 * to clear before it looks at the data, so neither a load nor a
 * write-around races a reader or a writer. A write-around of blocks the
 * cache has none for may instead claim their range in its part
 * (dcache_claim_uncached_write, under the mutex): until it ends no block
 * of the range is made, so no load can cache the disk's older data.
 *
 * A block is in exactly one of: the free list; retired; a policy
 * candidate (hashed, no pins, clean, not loading); pinned, dirty or
 * loading (hashed, not a candidate).
 */
#ifndef DCACHE_CORE_H
#define DCACHE_CORE_H

#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/wait.h>
#include <linux/atomic.h>
#include <linux/xarray.h>

#include "dcache.h"
#include "dcache_policy.h"

/* Block flags (bit numbers in dcache_block.flags). */
enum {
	DCACHE_B_VALID,		/* data matches the device or is newer */
	DCACHE_B_LOADING,	/* a read from the device fills the block */
	DCACHE_B_READ_ERROR,	/* the last load failed */
	DCACHE_B_DIRTY,		/* newer than the device; in its part's dirty tree */
	DCACHE_B_WRITING,	/* a write-back copy of it is in flight */
	DCACHE_B_RETIRED,	/* its chunk is leaving the pool (resize) */
	DCACHE_B_AHEAD,		/* loaded ahead of a read, not used since */
};

/* Blocks per chunk: the unit in which a pool grows and shrinks. */
#define DCACHE_CHUNK_BLOCKS 256

#define DCACHE_BIOSET_SIZE 64

struct dcache_block {
	struct rw_semaphore lock;	/* the block's data and its VALID bit */
	struct hlist_node hash;		/* in dcache.hash when hashed */
	struct list_head link;		/* dcache.free while free */
	struct rb_node dirty_node;	/* its part's dirty tree while dirty */
	struct list_head part_link;	/* dcache_part.blocks while hashed */
	struct dcache_policy_entry pe;	/* the eviction policy's state */
	u64 addr;			/* block address in the part */
	/*
	 * Epochs, under dcache.lock. @epoch is the stage that must write the
	 * oldest data not yet on the disk: the data, or the copy taken of it
	 * (in flight, or kept: after a failed write, or by a copy-on-write).
	 * Newer versions kept for later stages wait in @versions, oldest
	 * first. @next_epoch is the epoch of the first write after the
	 * newest copy was taken, @last_epoch that of the newest write.
	 */
	u64 epoch;
	u64 next_epoch;
	u64 last_epoch;
	unsigned long flags;		/* DCACHE_B_* */
	struct dcache *cache;
	void *data;			/* block_size bytes in a pool page */
	struct page *kept;		/* the copy that stage @epoch must write */
	struct list_head versions;	/* struct dcache_version, after @kept */
	u32 index;			/* position in the pool */
	u32 refs;			/* pins; under dcache.lock */
	u32 dirty_gen;			/* bumped by every write marked dirty */
	u32 copied_gen;			/* dirty_gen when the copy was taken */
	/*
	 * jiffies, under dcache.lock: when the data of @epoch, and of
	 * @next_epoch, was first written (the lag shown in the status).
	 */
	u32 dirtied_at;
	u32 next_dirtied_at;
	u16 part_id;
	u8 hashed;			/* on the hash table, not the free list */
	u8 copy_void;			/* discarded while its copy was in flight */
};

/*
 * A copy of a block's data kept for the stage of @epoch by copy-on-write,
 * while an older copy of the block is kept or in flight. A block's
 * versions have distinct epochs, ascending: in ordered mode a version
 * holds the writes of one epoch.
 */
struct dcache_version {
	struct list_head link;		/* dcache_block.versions */
	struct page *page;
	u64 epoch;
	u32 dirtied_at;			/* jiffies of its first write */
};

struct dcache_chunk {
	u32 nr_blocks;
	struct page **pages;
	struct dcache_block blocks[];
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
	atomic64_t cow_copies;
	atomic64_t cow_waits;
};

struct dcache {
	struct mutex lock;		/* everything below up to stats */
	struct hlist_head *hash;
	unsigned int hash_bits;
	struct list_head free;
	struct dcache_policy policy;	/* the eviction candidates */
	u64 nr_free;
	u64 nr_dirty;
	u64 max_dirty;
	u64 max_part_dirty;		/* one part's share of dirty blocks */
	u64 nr_kept;			/* pages of kept copies and versions */
	u64 nr_versions;		/* of them, in blocks' @versions */
	struct list_head groups;	/* consistency groups with members */
	struct xarray parts;		/* the parts by id; writes under lock */
	wait_queue_head_t free_wait;	/* stalled getters */
	wait_queue_head_t stage_wait;	/* writers held for a stage or a share */
	atomic_t stage_gen;		/* bumped before every stage_wait wake-up */

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

/* How pin_block finds or allocates a block. */
enum dcache_pin_how {
	PIN_QUIET,	/* only a block already cached; not a use (write-back) */
	PIN_LOOKUP,	/* only a block already cached */
	PIN_WAIT,	/* allocate, sleep when full */
};

static inline bool dcache_block_valid(const struct dcache_block *b)
{
	return test_bit(DCACHE_B_VALID, &b->flags);
}

static inline struct dcache_block *dcache_block_at(struct dcache *c, u64 i)
{
	return &c->chunks[i / DCACHE_CHUNK_BLOCKS]->blocks[i % DCACHE_CHUNK_BLOCKS];
}

/* Its chunk leaves the pool: once unused it is retired, not reused. */
static inline bool dcache_block_retiring(const struct dcache *c,
					 const struct dcache_block *b)
{
	return b->index >= c->retire_from;
}

static inline bool dcache_block_evictable(const struct dcache_block *b)
{
	return b->hashed && !b->refs && !test_bit(DCACHE_B_DIRTY, &b->flags) &&
	       !test_bit(DCACHE_B_LOADING, &b->flags);
}

/* cache.c */
struct dcache_block *dcache_lookup(struct dcache *c, u16 part_id, u64 addr);
struct dcache_block *dcache_pin_block(struct dcache_part *part, u64 addr,
				      enum dcache_pin_how how, bool interruptible,
				      int *error);
int dcache_lock_block(struct dcache_block *b, enum dcache_access access);
void dcache_pin_quiet_locked(struct dcache *c, struct dcache_block *b);
void dcache_unhash(struct dcache *c, struct dcache_block *b);
void dcache_retire_block(struct dcache *c, struct dcache_block *b);
void dcache_release(struct dcache *c, struct dcache_block *b);
void dcache_count_allocation(long delta);
long dcache_live_allocations(void);

/* dirty.c */
struct dcache_block *dcache_first_dirty(struct dcache_part *part);
struct dcache_block *dcache_next_dirty(struct dcache_block *b);
void dcache_free_discards(struct dcache_part *part);
void dcache_update_max_dirty(struct dcache *c);

/* part.c */
u64 dcache_retire_pass(struct dcache *c, u64 *dirty);
void dcache_unretire(struct dcache *c);

#endif
