/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The block cache core's API, for the target (dcache_mod.c, io.c,
 * stats.c, params.c), the default part operations (block_io.c) and the
 * flusher (flush.c). struct dcache and struct dcache_block are opaque
 * here; include/dcache_core.h has them, the words used below (part,
 * epoch, stage, round, kick, retire) and the locking rules.
 *
 * A cache holds a pool of blocks of one size (512 B .. PAGE_SIZE), shared
 * by every part registered with it; a block is keyed by (part, address).
 * A caller holds at most one block at a time (get to put): the block lock
 * may wait for a write-back copy or a load, never for another block.
 */
#ifndef DCACHE_H
#define DCACHE_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/log2.h>
#include <linux/blk_types.h>

struct dcache;
struct dcache_part;
struct dcache_block;
struct dcache_version;
struct dcache_writer;
struct dcache_wb_pass;
struct dcache_flusher;
struct dcache_policy_ops;
struct block_device;
struct bio_set;

/* What a getter means to do with a block (the lock it takes). */
enum dcache_access {
	DCACHE_READ,	/* shared lock; load on miss */
	DCACHE_RDWR,	/* exclusive lock; load on miss */
	DCACHE_WRITE,	/* exclusive lock; no load: the caller fills the block */
};

/* One block of a write-back pass: the copy that goes to the disk. */
struct dcache_wb_block {
	struct dcache_block *b;
	struct dcache_wb_pass *pass;
	struct page *page;
	int error;
};

/*
 * Per-part device operations; the defaults (block_io.c) are bios to
 * part->bdev. submit_read fills the block and calls dcache_load_end().
 * submit_write writes @n adjacent copies from @first->b's address (with
 * @fua, durable when it completes) and calls dcache_write_end(). flush
 * makes earlier writes durable; discard forgets @nr blocks from @addr;
 * both wait. has_volatile_cache says whether flush does anything, has_fua
 * whether the disk does FUA writes itself (not emulated with a flush).
 */
struct dcache_part_ops {
	void (*submit_read)(struct dcache_part *part, struct dcache_block *b);
	void (*submit_write)(struct dcache_part *part, struct dcache_wb_block *first,
			     unsigned int n, bool fua);
	int (*flush)(struct dcache_part *part);
	/* Optional: flush, then call dcache_flush_end(@wr, error). */
	void (*submit_flush)(struct dcache_part *part, struct dcache_writer *wr);
	int (*discard)(struct dcache_part *part, u64 addr, u64 nr);
	bool (*has_volatile_cache)(struct dcache_part *part);
	bool (*has_fua)(struct dcache_part *part);
};

/* The longest consistency group name a table line may give. */
#define DCACHE_GROUP_NAME_MAX	32

/*
 * A consistency group: parts whose epochs are one sequence, closed by a
 * flush of any of them, and whose writers begin a stage only when every
 * other member has all its data of older epochs durable (flush.c), so
 * that their disks together hold a prefix of that sequence.
 */
struct dcache_group {
	struct list_head link;		/* in dcache.groups */
	struct list_head parts;		/* its members, by group_link */
	u64 epoch;			/* the open epoch of every member */
	char name[DCACHE_GROUP_NAME_MAX + 1];
};

/* An ordered-mode discard waiting for the stage of its epoch. */
struct dcache_discard {
	struct list_head link;
	u64 addr;
	u64 nr;
	u64 epoch;
};

/* Writes around the cache with no block, in flight at once per part. */
#define DCACHE_UNCACHED_WRITES	8

struct dcache_part {
	struct dcache *cache;
	const struct dcache_part_ops *ops;
	struct block_device *bdev;
	void *private;
	struct dcache_writer *writer;	/* its write-back state (flush.c) */
	u16 id;
	unsigned int block_size;	/* I/O size, at most the pool's */
	unsigned int sector_shift;	/* log2 of sectors per block */
	/* Under dcache.lock: */
	u64 *epoch;		/* the open epoch: own_epoch, or its group's */
	u64 own_epoch;		/* from 1, while in no group */
	struct dcache_group *group;
	struct list_head group_link;
	u64 staging;		/* a stage begun and not yet durable, or 0 */
	u64 nr_blocks;		/* blocks cached for this part */
	u64 nr_dirty;		/* dirty blocks of this part */
	u64 nr_dirty_epochs;	/* distinct epochs of their oldest data */
	u64 nr_versions;	/* newer versions kept of them (dirty.c) */
	/* Its dirty blocks by epoch, first dirtied first within one epoch. */
	struct rb_root_cached dirty;
	struct list_head blocks;	/* its hashed blocks */
	struct list_head discards;	/* ordered discards, in epoch order */
	/*
	 * Of them, queued or being issued: while any is, no write goes to
	 * the disk outside the stages (a write-around or a write-through
	 * of a block it discards would land first, then be erased by it).
	 * Read without the mutex as a hint (dcache_discards_pending).
	 */
	unsigned int discards_pending;
	int wb_error;		/* write-back failing: new dirt refused at the share */
	bool suspended;		/* its device is suspended (flush.c) */
	/*
	 * Writes on their way to the disk that no block stands for
	 * (dcache_claim_uncached_write): bit n of uncached_busy says
	 * uncached[n] is in flight. Claimed under dcache.lock, released at
	 * the write's end in any context.
	 */
	unsigned long uncached_busy;
	struct dcache_uncached_write {
		u64 addr;
		unsigned int nr;
	} uncached[DCACHE_UNCACHED_WRITES];
};

/* The one block-to-sector conversion: block @addr of @part on its disk. */
static inline sector_t dcache_part_sector(const struct dcache_part *part, u64 addr)
{
	return addr << part->sector_shift;
}

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

struct dcache_config {
	u64 nr_blocks;
	u64 max_blocks;			/* most a resize may grow to; 0: nr_blocks */
	unsigned int block_size;
	u64 max_dirty;			/* 0: two thirds of the pool */
	unsigned int hash_buckets;	/* 0: sized to the pool; tests force 1 */
	u64 first_tick;			/* 0: 1; tests start near 2^32 */
	const struct dcache_policy_ops *policy;	/* NULL: LRU-2 */
	unsigned int fail_alloc_nth;	/* tests: fail the n-th allocation */
};

/* A snapshot of a cache's block counts and counters (stats.c). */
struct dcache_counts {
	u64 blocks_total;
	u64 blocks_free;
	u64 blocks_clean;
	u64 blocks_dirty;
	u64 hits;
	u64 misses;
	u64 evictions;
	u64 stalls;
	u64 rounds;
	u64 cow_copies;
	u64 cow_waits;
	u64 blocks_kept;
	u64 read_errors;
	u64 write_errors;
	u64 bytes_read;
	u64 bytes_written;
};

/* pool.c: the cache instance. */
struct dcache *dcache_create(const struct dcache_config *cfg);
void dcache_destroy(struct dcache *c);
int dcache_resize(struct dcache *c, u64 nr_blocks);
u64 dcache_pool_blocks(const struct dcache *c);

/* part.c: the parts. */
struct dcache_part *dcache_add_part(struct dcache *c, struct block_device *bdev,
				    unsigned int block_size,
				    const struct dcache_part_ops *ops,
				    void *private);
int dcache_remove_part(struct dcache_part *part);
int dcache_part_join_group(struct dcache_part *part, const char *name);
void dcache_part_leave_group(struct dcache_part *part);
const char *dcache_part_group_name(const struct dcache_part *part);
u64 dcache_other_parts_dirty(struct dcache_part *part, bool failed_only);

/* cache.c: getting and putting blocks. */
int dcache_get(struct dcache_part *part, u64 addr, enum dcache_access access,
	       bool interruptible, struct dcache_block **out);
struct dcache_block *dcache_try_get(struct dcache_part *part, u64 addr,
				    enum dcache_access access);
struct dcache_block *dcache_try_get_new(struct dcache_part *part, u64 addr);
void dcache_put(struct dcache_block *b, enum dcache_access access);
unsigned int dcache_try_read_run(struct dcache_part *part, u64 addr, unsigned int max,
				 struct dcache_block **out, unsigned int *uncached);
void dcache_put_read_run(struct dcache_block **blocks, unsigned int n);
unsigned int dcache_pin_uncached_run(struct dcache_part *part, u64 addr,
				     unsigned int max, struct dcache_block **out);
unsigned int dcache_pin_ahead_run(struct dcache_part *part, u64 addr,
				  unsigned int max, struct dcache_block **out);
void dcache_load_run_end(struct dcache_block **blocks, unsigned int n, int error);
void dcache_abandon_load_run(struct dcache_block **blocks, unsigned int n);
unsigned int dcache_pin_write_run(struct dcache_part *part, u64 addr,
				  unsigned int max, struct dcache_block **out);
void dcache_write_run_end(struct dcache_block **blocks, unsigned int n, int error);
unsigned int dcache_claim_uncached_write(struct dcache_part *part, u64 addr,
					 unsigned int max, unsigned int *slot);
void dcache_end_uncached_write(struct dcache_part *part, unsigned int slot);
void dcache_unpin_run(struct dcache_block **blocks, unsigned int n);
void dcache_unlock_block(struct dcache_block *b, enum dcache_access access);
void dcache_unpin(struct dcache_block *b);
void dcache_load_end(struct dcache_block *b, int error);
void *dcache_block_data(const struct dcache_block *b);
sector_t dcache_block_sector(const struct dcache_part *part,
			     const struct dcache_block *b);
bool dcache_block_dirty(const struct dcache_block *b);
void dcache_wait_copy(struct dcache_block *b);
void dcache_counts(struct dcache *c, struct dcache_counts *out);
void dcache_account_read(struct dcache *c, unsigned int bytes);
void dcache_account_write(struct dcache *c, unsigned int blocks,
			  unsigned int block_size, int error);
void dcache_account_cow_wait(struct dcache *c);
void dcache_account_round(struct dcache *c);
struct bio_set *dcache_bio_set(struct dcache *c);
void dcache_set_debug_check(struct dcache *c, bool on);

/* dirty.c: dirt, epochs, stages and discards. */
struct dcache_version *dcache_alloc_version(gfp_t gfp);
void dcache_free_version(struct dcache_version *v);
int dcache_mark_dirty(struct dcache_block *b, bool ordered,
		      struct dcache_version **spare);
bool dcache_block_of_closed_epoch(const struct dcache_part *part,
				  const struct dcache_block *b);
bool dcache_write_must_wait(struct dcache_part *part, u64 addr, bool ordered);
void dcache_clean(struct dcache_block *b);
void dcache_invalidate(struct dcache_block *b);
u64 dcache_close_epoch(struct dcache_part *part);
u64 dcache_current_epoch(struct dcache_part *part);
void dcache_stage_progress(struct dcache *c);
int dcache_stage_gen(struct dcache *c);
void dcache_wait_stage_progress(struct dcache *c, int gen, long timeout);
void dcache_set_part_error(struct dcache_part *part, int error);
int dcache_get_for_copy(struct dcache_part *part, u64 addr, u64 epoch,
			struct dcache_block **out);
struct page *dcache_writeback_start(struct dcache_block *b);
bool dcache_writeback_end(struct dcache_block *b, int error, struct page **copy);
u64 dcache_oldest_dirty_epoch(struct dcache_part *part);
bool dcache_begin_stage(struct dcache_part *part, u64 epoch);
void dcache_stage_durable(struct dcache_part *part);
unsigned int dcache_part_lag_ms(struct dcache_part *part);
u64 dcache_part_backlog(struct dcache_part *part, unsigned int *age_ms);
unsigned int dcache_collect_stage(struct dcache_part *part, u64 epoch,
				  u64 *addrs, unsigned int max);
unsigned int dcache_take_whole_dirt(struct dcache_part *part,
				    struct dcache_block **out, u64 *addrs,
				    unsigned int max, u64 *closed);
int dcache_discard_range(struct dcache_part *part, u64 addr, u64 nr,
			 struct dcache_discard *queue, u64 *epoch);
void dcache_take_discards(struct dcache_part *part, u64 epoch,
			  struct list_head *out);
void dcache_discards_issued(struct dcache_part *part, unsigned int n);
bool dcache_discards_pending(const struct dcache_part *part);
u64 dcache_drop_part_dirty(struct dcache_part *part);
void dcache_set_dirty_percent(struct dcache *c, unsigned int percent);
void dcache_set_part_dirty_percent(struct dcache *c, unsigned int percent);
void dcache_set_flusher(struct dcache *c, const struct dcache_flush_ops *ops,
			struct dcache_flusher *fl);
struct dcache_flusher *dcache_flusher(struct dcache *c);
void dcache_part_set_writer(struct dcache_part *part, struct dcache_writer *wr);

/* check.c */
int dcache_check(struct dcache *c);

/* block_io.c: the default part operations, bios to part->bdev. */
extern const struct dcache_part_ops dcache_bio_part_ops;

/* flush.c: the end of a write started by dcache_part_ops.submit_write. */
void dcache_write_end(struct dcache_wb_block *first, unsigned int n, int error);
/* flush.c: the end of a flush started by dcache_part_ops.submit_flush. */
void dcache_flush_end(struct dcache_writer *wr, int error);

#endif
