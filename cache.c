// SPDX-License-Identifier: GPL-2.0
/*
 * The block cache core (see include/dcache.h): lookup, LRU-2 eviction,
 * get/put/dirty, full-cache stalls, invariant checks.
 *
 * Locking, in the only order in which locks may nest:
 *
 *   0. dcache.resize_lock (pool.c): one resize at a time; held while it
 *      waits for write-back, never taken under any lock below.
 *   1. dcache_block.lock, a rw_semaphore per block: the block's data. Held
 *      from get to put; may be held across I/O. A task holds at most one.
 *   2. dcache.lock, the global mutex: hash table, free list, dirty list
 *      (in epoch order), heap, tick, refs, counts, the open epoch, the
 *      chunk table and retiring range, the part registry. Never held across I/O
 *      and never held while taking a block lock (a putter holding its block
 *      lock waits for the mutex).
 *   3. dcache.waiters_lock, a spinlock taken with interrupts off (load
 *      completion runs in bio end_io): load waiter lists and ready list.
 *
 * Block flags are atomic bits. DCACHE_B_LOADING is a bit lock owned by the
 * one task filling the block from the device; the owner either holds the
 * block lock shared (a getter) or took it shared long enough to set the bit
 * (dcache_load_async). Every holder of the block lock waits for LOADING to
 * clear before it looks at the data, so a load never races a writer.
 *
 * A block is in exactly one of: the free list; the heap (hashed, no pins,
 * clean, not loading); pinned, dirty or loading (hashed, off the heap).
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/sched/signal.h>
#include <linux/bio.h>
#include <linux/module.h>

#include "dcache.h"
#include "dcache_export.h"

static atomic_long_t dcache_allocations = ATOMIC_LONG_INIT(0);

/* pool.c counts what it allocates, so tests can see that nothing leaks. */
void dcache_count_allocation(long delta)
{
	atomic_long_add(delta, &dcache_allocations);
}

long dcache_live_allocations(void)
{
	return atomic_long_read(&dcache_allocations);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_live_allocations);

void *dcache_block_data(const struct dcache_block *b)
{
	return b->data;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_block_data);

static struct hlist_head *cache_bucket(struct dcache *c, u16 part_id, u64 addr)
{
	if (!c->hash_bits)
		return &c->hash[0];
	return &c->hash[hash_64(addr ^ ((u64)part_id << 48), c->hash_bits)];
}

static struct dcache_block *cache_lookup(struct dcache *c, u16 part_id, u64 addr)
{
	struct dcache_block *b;

	lockdep_assert_held(&c->lock);
	hlist_for_each_entry(b, cache_bucket(c, part_id, addr), hash)
		if (b->addr == addr && b->part_id == part_id)
			return b;
	return NULL;
}

static struct dcache_block *block_at(struct dcache *c, u64 i)
{
	return &c->chunks[i / DCACHE_CHUNK_BLOCKS]->blocks[i % DCACHE_CHUNK_BLOCKS];
}

/* Its chunk leaves the pool: once unused it is retired, not reused. */
static bool block_retiring(const struct dcache *c, const struct dcache_block *b)
{
	return b->index >= c->retire_from;
}

static bool block_evictable(const struct dcache_block *b)
{
	return b->hashed && !b->refs && !test_bit(DCACHE_B_DIRTY, &b->flags) &&
	       !test_bit(DCACHE_B_LOADING, &b->flags);
}

static void cache_unhash(struct dcache *c, struct dcache_block *b)
{
	struct dcache_part *part = xa_load(&c->parts, b->part_id);

	lockdep_assert_held(&c->lock);
	hlist_del_init(&b->hash);
	list_del_init(&b->part_link);
	b->hashed = 0;
	b->flags = 0;
	if (part)
		part->nr_blocks--;
}

/* @b is unhashed, unlisted and out of the heap: out of use for good. */
static void retire_block(struct dcache *c, struct dcache_block *b)
{
	set_bit(DCACHE_B_RETIRED, &b->flags);
	c->nr_retired++;
}

static void cache_release(struct dcache *c, struct dcache_block *b)
{
	lockdep_assert_held(&c->lock);
	if (!block_evictable(b) || dcache_lru_in_heap(&b->lru))
		return;
	if (block_retiring(c, b)) {
		cache_unhash(c, b);
		retire_block(c, b);
		return;
	}
	dcache_heap_insert(&c->heap, &b->lru);
	wake_up(&c->free_wait);
}

/* A free block: from the free list, else the LRU-2 victim. */
static struct dcache_block *cache_take_block(struct dcache *c)
{
	struct dcache_block *b;
	struct dcache_lru *victim;

	lockdep_assert_held(&c->lock);
	b = list_first_entry_or_null(&c->free, struct dcache_block, link);
	if (b) {
		list_del_init(&b->link);
		c->nr_free--;
		return b;
	}
	while ((victim = dcache_heap_pop(&c->heap))) {
		b = container_of(victim, struct dcache_block, lru);
		cache_unhash(c, b);
		atomic64_inc(&c->stats.evictions);
		if (!block_retiring(c, b))
			return b;
		retire_block(c, b);
	}
	return NULL;
}

/*
 * Sleep until a block may have been released, with the mutex dropped.
 * Dirty blocks are only freed by a flush, so ask for one. Returns false if
 * an interruptible wait was interrupted.
 */
static bool wait_for_free_block(struct dcache *c, bool interruptible)
{
	DEFINE_WAIT(wait);
	bool interrupted;

	prepare_to_wait(&c->free_wait, &wait,
			interruptible ? TASK_INTERRUPTIBLE : TASK_UNINTERRUPTIBLE);
	if (c->nr_dirty && c->flush_ops)
		c->flush_ops->kick(c, NULL);
	mutex_unlock(&c->lock);
	interrupted = interruptible && signal_pending(current);
	if (!interrupted)
		schedule();
	finish_wait(&c->free_wait, &wait);
	mutex_lock(&c->lock);
	return !interrupted;
}

enum pin_how {
	PIN_QUIET,	/* only a block already cached; not a use (write-back) */
	PIN_LOOKUP,	/* only a block already cached */
	PIN_NO_WAIT,	/* allocate, fail with -EAGAIN when full */
	PIN_WAIT,	/* allocate, sleep when full */
};

static struct dcache_block *pin_block(struct dcache_part *part, u64 addr,
				      enum pin_how how, bool interruptible,
				      int *error)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	bool stalled = false;

	mutex_lock(&c->lock);
	for (;;) {
		b = cache_lookup(c, part->id, addr);
		if (b) {
			if (dcache_lru_in_heap(&b->lru))
				dcache_heap_delete(&c->heap, &b->lru);
			b->refs++;
			if (how == PIN_QUIET)
				break;
			dcache_lru_touch(&b->lru, c->tick++);
			atomic64_inc(dcache_block_valid(b) ? &c->stats.hits :
							    &c->stats.misses);
			break;
		}
		if (how <= PIN_LOOKUP) {
			*error = -ENOENT;
			break;
		}
		b = cache_take_block(c);
		if (b) {
			b->addr = addr;
			b->part_id = part->id;
			b->hashed = 1;
			b->flags = 0;
			b->refs = 1;
			b->epoch = 0;
			b->lru.used2 = 0;	/* first access: infinitely old */
			b->lru.used = c->tick++;
			hlist_add_head(&b->hash, cache_bucket(c, part->id, addr));
			list_add_tail(&b->part_link, &part->blocks);
			part->nr_blocks++;
			atomic64_inc(&c->stats.misses);
			break;
		}
		if (how == PIN_NO_WAIT) {
			*error = -EAGAIN;
			break;
		}
		if (!stalled) {
			stalled = true;
			atomic64_inc(&c->stats.stalls);
		}
		if (!wait_for_free_block(c, interruptible)) {
			*error = -EINTR;
			break;
		}
	}
	mutex_unlock(&c->lock);
	return b;
}

/*
 * Find or allocate the block for (part, addr) and pin it, without taking
 * its lock. With @wait, a full cache sleeps until a block is released
 * (interruptible if asked); without, it fails with -EAGAIN.
 */
struct dcache_block *dcache_pin(struct dcache_part *part, u64 addr,
				bool wait, bool interruptible, int *error)
{
	return pin_block(part, addr, wait ? PIN_WAIT : PIN_NO_WAIT,
			 interruptible, error);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_pin);

/* Drop a pin taken by dcache_pin(). */
void dcache_unpin(struct dcache_block *b)
{
	struct dcache *c = b->cache;

	mutex_lock(&c->lock);
	if (!WARN_ON_ONCE(!b->refs)) {
		b->refs--;
		cache_release(c, b);
	}
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_unpin);

static void submit_load(struct dcache_block *b)
{
	struct dcache *c = b->cache;
	struct dcache_part *part;

	mutex_lock(&c->lock);
	part = xa_load(&c->parts, b->part_id);
	mutex_unlock(&c->lock);
	/* A pinned block keeps its part registered. */
	part->ops->submit_read(part, b);
}

/*
 * Fill a block the caller holds locked (shared or exclusive). Concurrent
 * shared holders share one load; all of them see its result.
 */
static int load_sync(struct dcache_block *b)
{
	if (!test_and_set_bit_lock(DCACHE_B_LOADING, &b->flags)) {
		if (dcache_block_valid(b)) {
			/* Another holder's load finished first. */
			clear_bit_unlock(DCACHE_B_LOADING, &b->flags);
			wake_up_bit(&b->flags, DCACHE_B_LOADING);
			return 0;
		}
		submit_load(b);
	}
	wait_on_bit(&b->flags, DCACHE_B_LOADING, TASK_UNINTERRUPTIBLE);
	return dcache_block_valid(b) ? 0 : -EIO;
}

/*
 * Lock a pinned block in @mode, loading it if the mode needs data that is
 * not there. On error the lock is released and the pin kept.
 */
int dcache_lock_block(struct dcache_block *b, enum dcache_get_mode mode)
{
	int r = 0;

	if (mode == DCACHE_READ)
		down_read(&b->lock);
	else
		down_write(&b->lock);
	wait_on_bit(&b->flags, DCACHE_B_LOADING, TASK_UNINTERRUPTIBLE);

	if (mode == DCACHE_WRITE) {
		/* The caller overwrites the whole block. */
		clear_bit(DCACHE_B_READ_ERROR, &b->flags);
		set_bit(DCACHE_B_VALID, &b->flags);
	} else if (!dcache_block_valid(b)) {
		r = load_sync(b);
	}
	if (r)
		dcache_unlock_block(b, mode);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_lock_block);

static int get_block(struct dcache_part *part, u64 addr, enum dcache_get_mode mode,
		     enum pin_how how, bool interruptible, struct dcache_block **out)
{
	struct dcache_block *b;
	int r = 0;

	b = pin_block(part, addr, how, interruptible, &r);
	if (!b)
		return r;
	r = dcache_lock_block(b, mode);
	if (r) {
		dcache_unpin(b);
		return r;
	}
	*out = b;
	return 0;
}

int dcache_get(struct dcache_part *part, u64 addr, enum dcache_get_mode mode,
	       bool interruptible, struct dcache_block **out)
{
	return get_block(part, addr, mode, PIN_WAIT, interruptible, out);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_get);

/* dcache_get() for a block only if it is already cached; -ENOENT if not. */
int dcache_get_cached(struct dcache_part *part, u64 addr,
		      enum dcache_get_mode mode, struct dcache_block **out)
{
	return get_block(part, addr, mode, PIN_LOOKUP, false, out);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_get_cached);

/*
 * The fast path: a cached, valid block whose lock is free right now, or
 * NULL. Never allocates, evicts, or sleeps on I/O or on another holder (the
 * mutex is only held briefly). WRITE mode also takes a cached invalid block.
 */
struct dcache_block *dcache_try_get(struct dcache_part *part, u64 addr,
				    enum dcache_get_mode mode)
{
	struct dcache_block *b;
	bool locked;
	int r;

	b = pin_block(part, addr, PIN_LOOKUP, false, &r);
	if (!b)
		return NULL;
	if (mode == DCACHE_READ)
		locked = down_read_trylock(&b->lock);
	else
		locked = down_write_trylock(&b->lock);
	if (!locked) {
		dcache_unpin(b);
		return NULL;
	}
	if (mode == DCACHE_WRITE && !test_bit(DCACHE_B_LOADING, &b->flags)) {
		clear_bit(DCACHE_B_READ_ERROR, &b->flags);
		set_bit(DCACHE_B_VALID, &b->flags);
		return b;
	}
	if (dcache_block_valid(b) && !test_bit(DCACHE_B_LOADING, &b->flags))
		return b;
	dcache_put(b, mode);
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_try_get);

/*
 * Start filling a pinned block without waiting. Returns 0 if it is already
 * valid, -EINPROGRESS if @w->done will be called (in process context) when
 * the load ends, -EAGAIN if a writer holds the block (use dcache_get from a
 * context that may sleep). The caller keeps its pin until then.
 */
int dcache_load_async(struct dcache_block *b, struct dcache_load_waiter *w)
{
	struct dcache *c = b->cache;
	bool start;

	if (!down_read_trylock(&b->lock))
		return -EAGAIN;
	spin_lock_irq(&c->waiters_lock);
	if (dcache_block_valid(b) && !test_bit(DCACHE_B_LOADING, &b->flags)) {
		spin_unlock_irq(&c->waiters_lock);
		up_read(&b->lock);
		return 0;
	}
	list_add_tail(&w->entry, &b->load_waiters);
	start = !test_and_set_bit_lock(DCACHE_B_LOADING, &b->flags);
	spin_unlock_irq(&c->waiters_lock);
	if (start)
		submit_load(b);
	up_read(&b->lock);
	return -EINPROGRESS;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_load_async);

void dcache_run_ready_waiters(struct work_struct *work)
{
	struct dcache *c = container_of(work, struct dcache, load_work);
	struct dcache_load_waiter *w, *tmp;
	LIST_HEAD(ready);

	spin_lock_irq(&c->waiters_lock);
	list_splice_init(&c->ready_waiters, &ready);
	spin_unlock_irq(&c->waiters_lock);
	list_for_each_entry_safe(w, tmp, &ready, entry) {
		list_del_init(&w->entry);
		w->done(w, w->error);
	}
}

/* The end of a load, in any context (bio end_io). */
void dcache_load_end(struct dcache_block *b, int error)
{
	struct dcache *c = b->cache;
	struct dcache_load_waiter *w;
	unsigned long irqflags;
	bool queue;

	if (error) {
		set_bit(DCACHE_B_READ_ERROR, &b->flags);
		atomic64_inc(&c->stats.read_errors);
	} else {
		clear_bit(DCACHE_B_READ_ERROR, &b->flags);
		set_bit(DCACHE_B_VALID, &b->flags);
		atomic64_inc(&c->stats.reads);
	}
	spin_lock_irqsave(&c->waiters_lock, irqflags);
	list_for_each_entry(w, &b->load_waiters, entry)
		w->error = error ? -EIO : 0;
	queue = !list_empty(&b->load_waiters);
	list_splice_tail_init(&b->load_waiters, &c->ready_waiters);
	clear_bit_unlock(DCACHE_B_LOADING, &b->flags);
	spin_unlock_irqrestore(&c->waiters_lock, irqflags);
	/* wake_up_bit() needs the cleared bit visible before it looks for sleepers. */
	smp_mb__after_atomic();
	wake_up_bit(&b->flags, DCACHE_B_LOADING);
	if (queue)
		queue_work(c->load_wq, &c->load_work);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_load_end);

/* Release the lock of dcache_lock_block() but keep the pin. */
void dcache_unlock_block(struct dcache_block *b, enum dcache_get_mode mode)
{
	if (mode == DCACHE_READ)
		up_read(&b->lock);
	else
		up_write(&b->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_unlock_block);

void dcache_put(struct dcache_block *b, enum dcache_get_mode mode)
{
	dcache_unlock_block(b, mode);
	dcache_unpin(b);
	if (b->cache->debug_check)
		WARN_ON(dcache_check(b->cache));
}
EXPORT_SYMBOL_IF_KUNIT(dcache_put);

/*
 * A part's dirty list is kept sorted by epoch, so that a stage (the blocks
 * of one epoch) is a run from its head. Blocks are nearly always added with
 * the newest epoch, so the walk back from the tail is short.
 */
/*
 * Equal epochs go right, so a tree walk meets one epoch's blocks in the
 * order they were first dirtied. A tree and not a sorted list: a block
 * left dirty after its copy re-enters at an older epoch than blocks
 * dirtied meanwhile, and a list insert would walk back past all of them.
 */
static bool dirty_before(struct rb_node *a, const struct rb_node *b)
{
	return rb_entry(a, struct dcache_block, dirty_node)->epoch <
	       rb_entry(b, struct dcache_block, dirty_node)->epoch;
}

static void dirty_tree_insert(struct dcache_part *part, struct dcache_block *b)
{
	rb_add_cached(&b->dirty_node, &part->dirty, dirty_before);
}

static void dirty_tree_erase(struct dcache_part *part, struct dcache_block *b)
{
	rb_erase_cached(&b->dirty_node, &part->dirty);
	RB_CLEAR_NODE(&b->dirty_node);
}

static struct dcache_block *first_dirty(struct dcache_part *part)
{
	struct rb_node *n = rb_first_cached(&part->dirty);

	return n ? rb_entry(n, struct dcache_block, dirty_node) : NULL;
}

static struct dcache_block *next_dirty(struct dcache_block *b)
{
	struct rb_node *n = rb_next(&b->dirty_node);

	return n ? rb_entry(n, struct dcache_block, dirty_node) : NULL;
}

static void dirty_tree_move(struct dcache *c, struct dcache_block *b, u64 epoch)
{
	struct dcache_part *part = xa_load(&c->parts, b->part_id);

	dirty_tree_erase(part, b);
	b->epoch = epoch;
	dirty_tree_insert(part, b);
}

/* A write-back copy of the block is in flight or kept for its retry. */
static bool copy_taken(const struct dcache_block *b)
{
	return test_bit(DCACHE_B_WRITING, &b->flags) || b->kept;
}

static void dirty_locked(struct dcache *c, struct dcache_block *b, u64 epoch)
{
	struct dcache_part *part;
	bool first = false, full;

	lockdep_assert_held(&c->lock);
	if (!test_and_set_bit(DCACHE_B_DIRTY, &b->flags)) {
		first = true;
		b->epoch = epoch;
		b->next_epoch = epoch;
		b->last_epoch = epoch;
		part = xa_load(&c->parts, b->part_id);
		dirty_tree_insert(part, b);
		c->nr_dirty++;
		part->nr_dirty++;
	} else {
		/* The first write after the copy: the next stage to write it. */
		if (copy_taken(b) && b->dirty_gen == b->copied_gen)
			b->next_epoch = epoch;
		b->last_epoch = max(b->last_epoch, epoch);
		if (epoch < b->epoch)
			dirty_tree_move(c, b, epoch);
	}
	b->dirty_gen++;
	full = c->nr_dirty >= c->max_dirty;
	if (c->flush_ops) {
		if (full)
			c->flush_ops->kick(c, NULL);
		else if (first)
			c->flush_ops->kick_delayed(c, xa_load(&c->parts, b->part_id));
	}
}

/*
 * Mark a block dirty in flush epoch @epoch; the caller holds it exclusive.
 * A block already dirty keeps its oldest epoch: its data must reach the
 * device no later than that epoch's stage.
 */
void dcache_dirty(struct dcache_block *b, u64 epoch)
{
	struct dcache *c = b->cache;

	mutex_lock(&c->lock);
	dirty_locked(c, b, epoch);
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_dirty);

/*
 * The block holds data of a closed epoch that no write-back copy has
 * taken: in ordered mode it must not be overwritten before its stage
 * copies it, WRITING or not (a copy in flight covers only the data up to
 * the moment it was taken).
 */
static bool held_by_older_epoch(struct dcache *c, struct dcache_block *b)
{
	if (!dcache_block_dirty(b))
		return false;
	if (copy_taken(b))
		return b->dirty_gen != b->copied_gen && b->next_epoch < c->epoch;
	return b->epoch < c->epoch;
}

/* A clean block of @part may not become dirty: its share is spent. */
static bool over_share(struct dcache *c, struct dcache_part *part,
		       struct dcache_block *b)
{
	return (!b || !dcache_block_dirty(b)) && part->nr_dirty >= c->max_part_dirty;
}

/*
 * A writer holding @b exclusive is about to change its data: mark it dirty
 * in the open epoch first, under the mutex, so that closing the epoch
 * cannot fall between choosing the epoch and marking the block. Refused,
 * with nothing changed:
 *  -EAGAIN  @ordered, and the block holds data of a closed epoch not yet
 *           copied: wait for the stage (dcache_write_must_wait), retry;
 *  -ENOSPC  the part has its share of dirty blocks: wait for write-back;
 *  the part's write-back error when its share is spent on a failing disk.
 */
int dcache_dirty_now(struct dcache_block *b, bool ordered)
{
	struct dcache *c = b->cache;
	struct dcache_part *part;
	int r = 0;

	mutex_lock(&c->lock);
	part = xa_load(&c->parts, b->part_id);
	if (ordered && held_by_older_epoch(c, b)) {
		r = -EAGAIN;
	} else if (over_share(c, part, b)) {
		r = part->wb_error ?: -ENOSPC;
		if (c->flush_ops)
			c->flush_ops->kick(c, part);
	} else {
		dirty_locked(c, b, c->epoch);
	}
	mutex_unlock(&c->lock);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_dirty_now);

/*
 * Whether a writer of @addr must still wait: for an older stage's copy
 * (@ordered), or for write-back to make room in the part's share.
 */
bool dcache_write_must_wait(struct dcache_part *part, u64 addr, bool ordered)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	bool wait;

	mutex_lock(&c->lock);
	b = cache_lookup(c, part->id, addr);
	wait = (ordered && b && held_by_older_epoch(c, b)) || over_share(c, part, b);
	mutex_unlock(&c->lock);
	return wait;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_write_must_wait);

/* Held writers may look again: a copy was taken or blocks were cleaned. */
void dcache_stage_progress(struct dcache *c)
{
	atomic_inc(&c->stage_gen);
	wake_up_all(&c->stage_wait);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_stage_progress);

/* The write-back of @part is failing (@error) or works again (0). */
void dcache_set_part_error(struct dcache_part *part, int error)
{
	struct dcache *c = part->cache;

	mutex_lock(&c->lock);
	part->wb_error = error;
	mutex_unlock(&c->lock);
	if (error)
		dcache_stage_progress(c);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_set_part_error);

/* Close the open epoch; returns it. Later dirt goes to the next one. */
u64 dcache_close_epoch(struct dcache *c)
{
	u64 closed;

	mutex_lock(&c->lock);
	closed = c->epoch++;
	mutex_unlock(&c->lock);
	return closed;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_close_epoch);

u64 dcache_current_epoch(struct dcache *c)
{
	return READ_ONCE(c->epoch);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_current_epoch);

static void drop_kept(struct dcache_block *b)
{
	if (b->kept) {
		__free_page(b->kept);
		b->kept = NULL;
	}
}

static void clean_locked(struct dcache *c, struct dcache_block *b)
{
	struct dcache_part *part;

	lockdep_assert_held(&c->lock);
	drop_kept(b);
	if (test_and_clear_bit(DCACHE_B_DIRTY, &b->flags)) {
		part = xa_load(&c->parts, b->part_id);
		dirty_tree_erase(part, b);
		c->nr_dirty--;
		part->nr_dirty--;
		cache_release(c, b);
	}
}

/* The block's data is on the device: it is clean (and evictable if unpinned). */
void dcache_clean(struct dcache_block *b)
{
	struct dcache *c = b->cache;

	mutex_lock(&c->lock);
	clean_locked(c, b);
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_clean);

/*
 * Pin and lock shared the block at @addr for a write-back copy of stage
 * @epoch: 0, or -ENOENT if it is no longer dirty in that epoch (or not
 * cached). Not a use of the block: LRU history and hit counts stay.
 */
int dcache_get_for_copy(struct dcache_part *part, u64 addr, u64 epoch,
			struct dcache_block **out)
{
	struct dcache_block *b;
	int r = 0;

	b = pin_block(part, addr, PIN_QUIET, false, &r);
	if (!b)
		return r;
	down_read(&b->lock);
	wait_on_bit(&b->flags, DCACHE_B_LOADING, TASK_UNINTERRUPTIBLE);
	/* Under the shared lock only the copier changes epoch and state. */
	if (!dcache_block_dirty(b) || b->epoch != epoch ||
	    test_bit(DCACHE_B_WRITING, &b->flags)) {
		up_read(&b->lock);
		dcache_unpin(b);
		return -ENOENT;
	}
	*out = b;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_get_for_copy);

/*
 * A write-back takes its copy of @b, held shared: writers may change the
 * block from now on. Returns the copy kept from a failed write, which is
 * what this stage must write again (the block may hold newer data), or
 * NULL: copy the block's data.
 */
struct page *dcache_writeback_start(struct dcache_block *b)
{
	struct dcache *c = b->cache;
	struct page *kept;

	mutex_lock(&c->lock);
	set_bit(DCACHE_B_WRITING, &b->flags);
	kept = b->kept;
	b->kept = NULL;
	if (!kept)
		b->copied_gen = b->dirty_gen;
	mutex_unlock(&c->lock);
	return kept;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writeback_start);

/*
 * The copy @*copy reached the device, or failed with @error. Unchanged
 * since the copy: clean, or still dirty in its stage on failure. Written
 * since: on success it stays dirty from the epoch of the first newer
 * write; on failure the core keeps the copy (takes @*copy, sets it NULL)
 * so that the retry writes the stage's own data, never newer. Returns
 * whether the block was cleaned.
 */
bool dcache_writeback_end(struct dcache_block *b, int error, struct page **copy)
{
	struct dcache *c = b->cache;
	bool cleaned = false, redirty = false;

	mutex_lock(&c->lock);
	clear_bit(DCACHE_B_WRITING, &b->flags);
	if (!dcache_block_dirty(b) || b->copy_void) {
		/* Discarded since the copy: what is dirty now is newer. */
		if (dcache_block_dirty(b) && !error)
			dirty_tree_move(c, b, b->next_epoch);
	} else if (b->dirty_gen == b->copied_gen) {
		if (!error) {
			clean_locked(c, b);
			cleaned = true;
		}
	} else if (error) {
		b->kept = *copy;
		*copy = NULL;
	} else {
		dirty_tree_move(c, b, b->next_epoch);
		redirty = true;
	}
	/* Every dirty block has a round due within the flush delay. */
	if (redirty && c->flush_ops)
		c->flush_ops->kick_delayed(c, xa_load(&c->parts, b->part_id));
	b->copy_void = 0;
	mutex_unlock(&c->lock);
	smp_mb();	/* the cleared bit before the waiter check */
	wake_up_bit(&b->flags, DCACHE_B_WRITING);
	return cleaned;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writeback_end);

static void invalidate_locked(struct dcache *c, struct dcache_block *b)
{
	/* A copy in flight is of forgotten data: never keep it for a retry. */
	if (test_bit(DCACHE_B_WRITING, &b->flags))
		b->copy_void = 1;
	b->dirty_gen++;
	clean_locked(c, b);
	clear_bit(DCACHE_B_VALID, &b->flags);
}

/*
 * Forget a block's data, dirty or not (discard); the caller holds it
 * exclusive. It stays hashed but invalid, so the next get reads the device.
 */
void dcache_invalidate(struct dcache_block *b)
{
	struct dcache *c = b->cache;

	mutex_lock(&c->lock);
	invalidate_locked(c, b);
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_invalidate);

#define DISCARD_BATCH 64

/*
 * A cached block of a discarded range that cannot be forgotten now: in
 * use, or (@ordered) holding data that an older stage must still write.
 */
static bool discard_must_wait(struct dcache *c, struct dcache_block *b, bool ordered)
{
	return b->refs || (ordered && (b->kept || held_by_older_epoch(c, b)));
}

/* Forget @b for a discard unless it must wait; returns whether it must. */
static bool discard_block(struct dcache *c, struct dcache_block *b, bool ordered)
{
	/* Nobody holds an unpinned block's lock: the trylock cannot fail. */
	if (discard_must_wait(c, b, ordered) || !down_write_trylock(&b->lock))
		return true;
	invalidate_locked(c, b);
	up_write(&b->lock);
	return false;
}

/*
 * Call @fn(c, b, @ordered) on each cached block of @part in [@addr, @end);
 * returns whether any call returned true. It walks the part's blocks or
 * looks up each address, whichever is fewer; without @ordered the mutex
 * is dropped every DISCARD_BATCH lookups, with it held throughout.
 */
static bool walk_discard_range(struct dcache *c, struct dcache_part *part,
			       u64 addr, u64 end,
			       bool (*fn)(struct dcache *c, struct dcache_block *b,
					  bool ordered),
			       bool ordered)
{
	struct dcache_block *b, *tmp;
	unsigned int seen = 0;
	bool any = false;
	u64 a;

	if (end - addr > part->nr_blocks) {
		list_for_each_entry_safe(b, tmp, &part->blocks, part_link)
			if (b->addr >= addr && b->addr < end)
				any |= fn(c, b, ordered);
		return any;
	}
	for (a = addr; a < end; a++) {
		if (!ordered && ++seen == DISCARD_BATCH) {
			mutex_unlock(&c->lock);
			cond_resched();
			mutex_lock(&c->lock);
			seen = 0;
		}
		b = cache_lookup(c, part->id, a);
		if (b)
			any |= fn(c, b, ordered);
	}
	return any;
}

/*
 * A discard of [@addr, @addr + @nr) of @part: forget the cached blocks of
 * the range. -EAGAIN if some block has to wait: wait for stage progress
 * and call again.
 *
 * With @queue (ordered mode) the discard is a write of the open epoch: it
 * is queued for that epoch's stage (*@epoch says which), and a block whose
 * older data no stage has copied yet must first be copied. It is all or
 * nothing, under one hold of the mutex: a discard that must wait forgets
 * nothing, so no acknowledged write is dropped before the discard that
 * supersedes it has its place among the epochs.
 *
 * Without (write-back), the blocks that need not wait are forgotten at
 * once, with the mutex dropped every DISCARD_BATCH lookups.
 *
 * Either way the work is proportional to the range or to the part's
 * cached blocks, whichever is smaller.
 */
int dcache_discard_range(struct dcache_part *part, u64 addr, u64 nr,
			 struct dcache_discard *queue, u64 *epoch)
{
	struct dcache *c = part->cache;
	bool ordered = queue, wait;

	mutex_lock(&c->lock);
	if (ordered && walk_discard_range(c, part, addr, addr + nr, discard_must_wait, true)) {
		mutex_unlock(&c->lock);
		return -EAGAIN;
	}
	wait = walk_discard_range(c, part, addr, addr + nr, discard_block, ordered);
	if (queue) {
		queue->addr = addr;
		queue->nr = nr;
		queue->epoch = c->epoch;
		*epoch = c->epoch;	/* @queue may be gone once the mutex drops */
		list_add_tail(&queue->link, &part->discards);
		if (c->flush_ops)
			c->flush_ops->kick_delayed(c, part);
	}
	mutex_unlock(&c->lock);
	return wait ? -EAGAIN : 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_discard_range);

/* Move the queued discards of @part up to @epoch to @out, oldest first. */
void dcache_take_discards(struct dcache_part *part, u64 epoch,
			  struct list_head *out)
{
	struct dcache *c = part->cache;
	struct dcache_discard *d, *tmp;

	mutex_lock(&c->lock);
	list_for_each_entry_safe(d, tmp, &part->discards, link) {
		if (d->epoch > epoch)
			break;
		list_move_tail(&d->link, out);
	}
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_take_discards);

static void free_discards(struct dcache_part *part)
{
	struct dcache_discard *d, *tmp;

	list_for_each_entry_safe(d, tmp, &part->discards, link) {
		list_del(&d->link);
		kfree(d);
	}
}

/*
 * Dirty blocks (and queued discards) of other parts on the same backing
 * device; with @failed_only, of parts whose write-back failed or that are
 * suspended.
 */
u64 dcache_other_parts_dirty(struct dcache_part *part, bool failed_only)
{
	struct dcache *c = part->cache;
	struct dcache_part *other;
	u64 dirty = 0;
	unsigned long id;

	mutex_lock(&c->lock);
	xa_for_each(&c->parts, id, other)
		if (other != part && other->bdev && other->bdev == part->bdev &&
		    (!failed_only || other->wb_error || READ_ONCE(other->suspended)))
			dirty += other->nr_dirty + !list_empty(&other->discards);
	mutex_unlock(&c->lock);
	return dirty;
}

/*
 * The epoch of the next stage: the oldest epoch up to @max_epoch that holds
 * a dirty block not being written, of a part that @skip does not exclude.
 * 0 if there is none. Proportional to the number of parts.
 */
u64 dcache_next_stage(struct dcache *c, u64 max_epoch,
		      bool (*skip)(struct dcache_part *part))
{
	struct dcache_part *part;
	struct dcache_block *b;
	u64 epoch = 0;
	unsigned long id;

	mutex_lock(&c->lock);
	xa_for_each(&c->parts, id, part) {
		struct dcache_discard *d;

		if (skip && skip(part))
			continue;
		d = list_first_entry_or_null(&part->discards, struct dcache_discard, link);
		if (d && d->epoch <= max_epoch && (!epoch || d->epoch < epoch))
			epoch = d->epoch;
		for (b = first_dirty(part); b; b = next_dirty(b)) {
			if (b->epoch > max_epoch)
				break;
			if (test_bit(DCACHE_B_WRITING, &b->flags))
				continue;
			if (!epoch || b->epoch < epoch)
				epoch = b->epoch;
			break;
		}
	}
	mutex_unlock(&c->lock);
	return epoch;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_next_stage);

/* The epoch of the oldest data of @part not on its disk; U64_MAX if none. */
u64 dcache_oldest_dirty_epoch(struct dcache_part *part)
{
	struct dcache *c = part->cache;
	struct dcache_discard *d;
	struct dcache_block *b;
	u64 epoch;

	mutex_lock(&c->lock);
	b = first_dirty(part);
	d = list_first_entry_or_null(&part->discards, struct dcache_discard, link);
	epoch = min(b ? b->epoch : U64_MAX, d ? d->epoch : U64_MAX);
	mutex_unlock(&c->lock);
	return epoch;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_oldest_dirty_epoch);

/*
 * Addresses of up to @max blocks of @part dirty in exactly @epoch and not
 * being written, in the order they were first dirtied. Returns how many.
 */
unsigned int dcache_collect_stage(struct dcache_part *part, u64 epoch,
				  u64 *addrs, unsigned int max)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	unsigned int n = 0;

	mutex_lock(&c->lock);
	for (b = first_dirty(part); b; b = next_dirty(b)) {
		if (n == max || b->epoch > epoch)
			break;
		if (b->epoch == epoch && !test_bit(DCACHE_B_WRITING, &b->flags))
			addrs[n++] = b->addr;
	}
	mutex_unlock(&c->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_collect_stage);

/*
 * Last resort when a dead device cannot take its dirty blocks: drop them
 * so the part can go. Returns how many were lost; the caller logs it.
 */
u64 dcache_drop_part_dirty(struct dcache_part *part)
{
	struct dcache *c = part->cache;
	struct dcache_block *b, *tmp;
	u64 lost = 0;

	mutex_lock(&c->lock);
	for (b = first_dirty(part); b; b = tmp) {
		tmp = next_dirty(b);
		if (b->refs)
			continue;
		clean_locked(c, b);
		clear_bit(DCACHE_B_VALID, &b->flags);
		lost++;
	}
	free_discards(part);
	mutex_unlock(&c->lock);
	dcache_stage_progress(c);
	return lost;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_drop_part_dirty);

u64 dcache_nr_dirty(struct dcache *c)
{
	u64 n;

	mutex_lock(&c->lock);
	n = c->nr_dirty;
	mutex_unlock(&c->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_nr_dirty);

u64 dcache_nr_free(struct dcache *c)
{
	u64 n;

	mutex_lock(&c->lock);
	n = c->nr_free;
	mutex_unlock(&c->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_nr_free);

/*
 * Register a device with the cache. @ops NULL means bios to @bdev.
 * Returns an ERR_PTR on failure.
 */
struct dcache_part *dcache_add_part(struct dcache *c, struct block_device *bdev,
				    unsigned int block_size,
				    const struct dcache_part_ops *ops,
				    void *private)
{
	struct dcache_part *part;
	u32 id;
	int r;

	if (!block_size || block_size > c->block_size || block_size % SECTOR_SIZE)
		return ERR_PTR(-EINVAL);
	part = kzalloc(sizeof(*part), GFP_KERNEL);
	if (!part)
		return ERR_PTR(-ENOMEM);
	part->cache = c;
	part->bdev = bdev;
	part->block_size = block_size;
	part->ops = ops ?: &dcache_bio_part_ops;
	part->private = private;
	part->dirty = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&part->blocks);
	INIT_LIST_HEAD(&part->discards);

	/*
	 * The xarray allocates under its own lock, not under the mutex:
	 * reclaim may write to a cache device. Readers under the mutex may
	 * see the part before its id is set; it has no blocks yet.
	 */
	r = xa_alloc(&c->parts, &id, part, XA_LIMIT(0, U16_MAX), GFP_KERNEL);
	if (r) {
		kfree(part);
		return ERR_PTR(r);
	}
	part->id = id;
	return part;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_add_part);

/*
 * Unregister a device and free its blocks; the others' blocks stay. The
 * caller has written back and quiesced it: a pinned or dirty block of the
 * part refuses the removal with -EBUSY and changes nothing.
 */
int dcache_remove_part(struct dcache_part *part)
{
	struct dcache *c = part->cache;
	struct dcache_block *b, *tmp;

	mutex_lock(&c->lock);
	list_for_each_entry(b, &part->blocks, part_link) {
		if (b->refs || test_bit(DCACHE_B_DIRTY, &b->flags)) {
			mutex_unlock(&c->lock);
			return -EBUSY;
		}
	}
	list_for_each_entry_safe(b, tmp, &part->blocks, part_link) {
		if (dcache_lru_in_heap(&b->lru))
			dcache_heap_delete(&c->heap, &b->lru);
		cache_unhash(c, b);
		if (block_retiring(c, b)) {
			retire_block(c, b);
			continue;
		}
		list_add(&b->link, &c->free);
		c->nr_free++;
	}
	xa_erase(&c->parts, part->id);
	free_discards(part);
	wake_up_all(&c->free_wait);
	mutex_unlock(&c->lock);
	kfree(part);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_remove_part);

/* The dirty threshold follows the pool size; under the mutex or unshared. */
void dcache_update_max_dirty(struct dcache *c)
{
	if (c->max_dirty_percent)
		c->max_dirty = max_t(u64, 1, c->nr_blocks * c->max_dirty_percent / 100);
	c->max_part_dirty = max_t(u64, 1, c->nr_blocks * c->part_dirty_percent / 100);
}

void dcache_set_dirty_percent(struct dcache *c, unsigned int percent)
{
	mutex_lock(&c->lock);
	c->max_dirty_percent = percent;
	dcache_update_max_dirty(c);
	if (c->nr_dirty >= c->max_dirty && c->flush_ops)
		c->flush_ops->kick(c, NULL);
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_set_dirty_percent);

void dcache_set_part_dirty_percent(struct dcache *c, unsigned int percent)
{
	mutex_lock(&c->lock);
	c->part_dirty_percent = percent;
	dcache_update_max_dirty(c);
	mutex_unlock(&c->lock);
	dcache_stage_progress(c);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_set_part_dirty_percent);

/*
 * One pass over the retiring chunk (pool.c): free and evictable blocks are
 * retired. Returns how many are still in use; *@dirty says how many of
 * those wait for write-back.
 */
u64 dcache_retire_pass(struct dcache *c, u64 *dirty)
{
	u64 i, busy = 0;

	*dirty = 0;
	mutex_lock(&c->lock);
	for (i = c->retire_from; i < c->nr_blocks; i++) {
		struct dcache_block *b = block_at(c, i);

		if (test_bit(DCACHE_B_RETIRED, &b->flags))
			continue;
		if (!b->hashed) {
			list_del_init(&b->link);	/* from the free list */
			c->nr_free--;
			retire_block(c, b);
		} else if (block_evictable(b)) {
			dcache_heap_delete(&c->heap, &b->lru);
			cache_unhash(c, b);
			retire_block(c, b);
		} else {
			busy++;
			*dirty += dcache_block_dirty(b);
		}
	}
	mutex_unlock(&c->lock);
	return busy;
}

/* A shrink gave up: the retiring chunk's retired blocks become free again. */
void dcache_unretire(struct dcache *c)
{
	u64 i;

	mutex_lock(&c->lock);
	for (i = c->retire_from; i < c->nr_blocks; i++) {
		struct dcache_block *b = block_at(c, i);

		if (!test_and_clear_bit(DCACHE_B_RETIRED, &b->flags))
			continue;
		c->nr_retired--;
		list_add_tail(&b->link, &c->free);
		c->nr_free++;
	}
	c->retire_from = U32_MAX;
	wake_up_all(&c->free_wait);
	mutex_unlock(&c->lock);
}

/* True if @cond holds; else says which invariant broke. */
#define invariant(cond, fmt, ...)					\
	(likely(cond) ||						\
	 (pr_err("dcache: invariant broken: " fmt "\n", ##__VA_ARGS__), false))

static int check_locked(struct dcache *c)
{
	u64 i, nr_free = 0, nr_unhashed = 0, nr_dirty = 0, nr_dirty_list = 0, nr_retired = 0;
	u64 nr_busy = 0, nr_in_heap = 0, part_dirty = 0;
	struct dcache_part *part;
	struct dcache_block *b;
	unsigned long id;

	list_for_each_entry(b, &c->free, link) {
		if (!invariant(!b->hashed, "free block %u is hashed", b->index))
			return -EUCLEAN;
		nr_free++;
	}
	if (!invariant(nr_free == c->nr_free, "free list %llu, count %llu",
		       nr_free, c->nr_free))
		return -EUCLEAN;
	xa_for_each(&c->parts, id, part) {
		u64 part_list = 0;

		for (b = first_dirty(part); b; b = next_dirty(b)) {
			struct dcache_block *prev = rb_entry_safe(rb_prev(&b->dirty_node),
								  struct dcache_block, dirty_node);

			if (!invariant(dcache_block_dirty(b) && b->part_id == part->id,
				       "block %u on part %u's dirty list", b->index, part->id))
				return -EUCLEAN;
			if (!invariant(b->epoch <= b->last_epoch, "block %u epochs %llu..%llu",
				       b->index, b->epoch, b->last_epoch))
				return -EUCLEAN;
			if (!invariant(!prev || prev->epoch <= b->epoch,
				       "dirty list not in epoch order at block %u", b->index))
				return -EUCLEAN;
			part_list++;
		}
		if (!invariant(part_list == part->nr_dirty, "part %u: %llu listed, %llu dirty",
			       part->id, part_list, part->nr_dirty))
			return -EUCLEAN;
		nr_dirty_list += part_list;
	}
	if (!invariant(dcache_heap_check(&c->heap), "heap order or slots broken"))
		return -EUCLEAN;

	for (i = 0; i < c->nr_blocks; i++) {
		bool dirty, loading;

		b = block_at(c, i);
		if (!invariant(b->index == i, "block %llu has index %u", i, b->index))
			return -EUCLEAN;
		if (!b->hashed) {
			if (test_bit(DCACHE_B_RETIRED, &b->flags)) {
				nr_retired++;
				if (!invariant(block_retiring(c, b) && list_empty(&b->link) &&
					       RB_EMPTY_NODE(&b->dirty_node),
					       "retired block %llu listed or not retiring", i))
					return -EUCLEAN;
			} else {
				nr_unhashed++;
			}
			if (!invariant(!b->refs && !(b->flags & ~BIT(DCACHE_B_RETIRED)) &&
				       !dcache_lru_in_heap(&b->lru),
				       "free block %llu pinned, flagged or in heap", i))
				return -EUCLEAN;
			continue;
		}
		if (!invariant(cache_lookup(c, b->part_id, b->addr) == b,
			       "block %llu (%u/%llu) not found or not unique",
			       i, b->part_id, b->addr))
			return -EUCLEAN;
		if (!invariant(xa_load(&c->parts, b->part_id),
			       "block %llu of unregistered part %u", i, b->part_id))
			return -EUCLEAN;
		dirty = dcache_block_dirty(b);
		loading = test_bit(DCACHE_B_LOADING, &b->flags);
		if (!invariant(!dirty || dcache_block_valid(b), "dirty block %llu not valid", i))
			return -EUCLEAN;
		if (!invariant(!b->kept || dirty, "clean block %llu keeps a copy", i))
			return -EUCLEAN;
		if (!invariant(!loading || b->refs, "block %llu loading unpinned", i))
			return -EUCLEAN;
		nr_dirty += dirty;
		if (dcache_lru_in_heap(&b->lru)) {
			if (!invariant(block_evictable(b), "block %llu in heap but busy", i))
				return -EUCLEAN;
			if (!invariant(c->heap.slots[b->lru.heap_index] == &b->lru,
				       "heap slot of block %llu does not point back", i))
				return -EUCLEAN;
			nr_in_heap++;
		} else {
			if (!invariant(!block_evictable(b),
				       "block %llu evictable but not in heap", i))
				return -EUCLEAN;
			nr_busy++;
		}
	}
	if (!invariant(nr_unhashed == nr_free, "%llu unhashed, %llu free",
		       nr_unhashed, nr_free))
		return -EUCLEAN;
	if (!invariant(nr_dirty == c->nr_dirty && nr_dirty_list == nr_dirty,
		       "dirty count %llu, dirty blocks %llu, dirty list %llu",
		       c->nr_dirty, nr_dirty, nr_dirty_list))
		return -EUCLEAN;
	if (!invariant(nr_in_heap == c->heap.size, "heap size %u, in heap %llu",
		       c->heap.size, nr_in_heap))
		return -EUCLEAN;
	if (!invariant(nr_retired == c->nr_retired, "retired %llu, count %llu",
		       nr_retired, c->nr_retired))
		return -EUCLEAN;
	if (!invariant(nr_free + nr_in_heap + nr_busy + nr_retired == c->nr_blocks,
		       "free %llu + heap %llu + busy %llu + retired %llu != total %llu",
		       nr_free, nr_in_heap, nr_busy, nr_retired, c->nr_blocks))
		return -EUCLEAN;
	xa_for_each(&c->parts, id, part)
		part_dirty += part->nr_dirty;
	if (!invariant(part_dirty == c->nr_dirty, "parts dirty %llu, cache %llu",
		       part_dirty, c->nr_dirty))
		return -EUCLEAN;
	return 0;
}

/* Verify the invariants of NOTES.md; 0 or -EUCLEAN with a log line. */
int dcache_check(struct dcache *c)
{
	int r;

	mutex_lock(&c->lock);
	r = check_locked(c);
	mutex_unlock(&c->lock);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_check);
