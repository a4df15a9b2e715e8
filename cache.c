// SPDX-License-Identifier: GPL-2.0
/*
 * The block cache core, part one (see include/dcache_core.h for the words
 * and the whole lock order): finding a block by (part, address), pinning
 * it, locking it and loading it; taking a free block or an eviction
 * victim from the policy; full-cache stalls; counts and statistics.
 *
 * Locking: dcache.lock (the global mutex) for the hash table, the free
 * list, the policy and refs; a block's rw_semaphore from get to put,
 * never taken under the mutex; DCACHE_B_LOADING, a bit lock held by the
 * one getter whose read fills the block, or by a miss run or a load
 * ahead from its pin (dcache_pin_uncached_run, dcache_pin_ahead_run; set
 * under the mutex) to the end of its load, or by a write going around
 * the cache (dcache_pin_write_run) until it lands. A part's
 * uncached_busy bits, one per write going around with no block
 * (dcache_claim_uncached_write): set under the mutex, cleared by the
 * write's end in any context; pin_new reads them under the mutex.
 */
#include <linux/wait_bit.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/sched/signal.h>
#include <linux/bio.h>
#include <linux/module.h>

#include "dcache_core.h"
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

/* The block's first sector on @part's disk. */
sector_t dcache_block_sector(const struct dcache_part *part,
			     const struct dcache_block *b)
{
	return dcache_part_sector(part, b->addr);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_block_sector);

bool dcache_block_dirty(const struct dcache_block *b)
{
	return test_bit(DCACHE_B_DIRTY, &b->flags);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_block_dirty);

/* Wait until no write-back copy of @b is in flight; the caller holds it. */
void dcache_wait_copy(struct dcache_block *b)
{
	wait_on_bit_io(&b->flags, DCACHE_B_WRITING, TASK_UNINTERRUPTIBLE);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_wait_copy);

static struct hlist_head *cache_bucket(struct dcache *c, u16 part_id, u64 addr)
{
	if (!c->hash_bits)
		return &c->hash[0];
	return &c->hash[hash_64(addr ^ ((u64)part_id << 48), c->hash_bits)];
}

/* Inlined into dcache_try_read_run's loop, which calls it for every block. */
static __always_inline struct dcache_block *find_block(struct dcache *c, u16 part_id,
						       u64 addr)
{
	struct dcache_block *b;

	hlist_for_each_entry(b, cache_bucket(c, part_id, addr), hash)
		if (b->addr == addr && b->part_id == part_id)
			return b;
	return NULL;
}

struct dcache_block *dcache_lookup(struct dcache *c, u16 part_id, u64 addr)
{
	lockdep_assert_held(&c->lock);
	return find_block(c, part_id, addr);
}

void dcache_unhash(struct dcache *c, struct dcache_block *b)
{
	struct dcache_part *part = xa_load(&c->parts, b->part_id);

	lockdep_assert_held(&c->lock);
	/* Out of the policy too: LRU-2 may hold a pinned block parked. */
	dcache_policy_forget(&c->policy, &b->pe);
	hlist_del_init(&b->hash);
	list_del_init(&b->part_link);
	b->hashed = 0;
	b->flags = 0;
	if (part)
		part->nr_blocks--;
}

/* @b is unhashed, unlisted and not a candidate: out of use for good. */
void dcache_retire_block(struct dcache *c, struct dcache_block *b)
{
	set_bit(DCACHE_B_RETIRED, &b->flags);
	c->nr_retired++;
}

/* Inlined into dcache_unpin_run, which calls it for every block of a run. */
static inline void release_block(struct dcache *c, struct dcache_block *b)
{
	if (!dcache_block_evictable(b))
		return;
	if (unlikely(dcache_block_retiring(c, b))) {
		if (!dcache_policy_is_candidate(&c->policy, &b->pe)) {
			dcache_unhash(c, b);
			dcache_retire_block(c, b);
		}
		return;
	}
	/* Waiters queue themselves under the mutex we hold: no barrier. */
	if (dcache_policy_offer(&c->policy, &b->pe) && waitqueue_active(&c->free_wait))
		wake_up(&c->free_wait);
}

/* @b may have become evictable: hand it to the policy, or retire it. */
void dcache_release(struct dcache *c, struct dcache_block *b)
{
	lockdep_assert_held(&c->lock);
	release_block(c, b);
}

/* A free block: from the free list, else the policy's victim. */
/*
 * A free block, else the policy's victim; for a load ahead of reads
 * (@ahead) only a victim used once at most, so that readahead never
 * evicts a block used twice.
 */
static struct dcache_block *cache_take_block(struct dcache *c, bool ahead)
{
	struct dcache_block *b;
	struct dcache_policy_entry *victim;

	lockdep_assert_held(&c->lock);
	b = list_first_entry_or_null(&c->free, struct dcache_block, link);
	if (b) {
		list_del_init(&b->link);
		c->nr_free--;
		return b;
	}
	while (!(ahead && !dcache_policy_victim_used_once(&c->policy)) &&
	       (victim = dcache_policy_victim(&c->policy))) {
		b = container_of(victim, struct dcache_block, pe);
		dcache_unhash(c, b);
		atomic64_inc(&c->stats.evictions);
		if (!dcache_block_retiring(c, b))
			return b;
		dcache_retire_block(c, b);
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

/*
 * Pin the cached block @b; unless @how is PIN_QUIET, tell the policy of
 * the use, which the caller counts (pin_cached, dcache_try_read_run).
 */
static inline void pin_cached_uncounted(struct dcache *c, struct dcache_block *b,
					enum dcache_pin_how how)
{
	b->refs++;
	if (how == PIN_QUIET) {
		dcache_policy_pin(&c->policy, &b->pe);
		return;
	}
	/*
	 * A block read ahead is used for the first time now, not the second.
	 * Tested before the locked clear, which most blocks do not need.
	 */
	dcache_policy_pin_use(&c->policy, &b->pe,
			      test_bit(DCACHE_B_AHEAD, &b->flags) &&
			      test_and_clear_bit(DCACHE_B_AHEAD, &b->flags));
}

/* Pin the cached block @b; unless @how is PIN_QUIET, count it as a use. */
static void pin_cached(struct dcache *c, struct dcache_block *b, enum dcache_pin_how how)
{
	pin_cached_uncounted(c, b, how);
	if (how != PIN_QUIET)
		atomic64_inc(dcache_block_valid(b) ? &c->stats.hits : &c->stats.misses);
}

/* Pin @b for write-back, under dcache.lock: not a use of the block. */
void dcache_pin_quiet_locked(struct dcache *c, struct dcache_block *b)
{
	lockdep_assert_held(&c->lock);
	pin_cached(c, b, PIN_QUIET);
}

/* Whether a write with no block is on its way to @addr of @part. */
static inline bool uncached_write_covers(const struct dcache_part *part, u64 addr)
{
	unsigned long busy = READ_ONCE(part->uncached_busy);
	unsigned int s;

	if (likely(!busy))
		return false;
	for_each_set_bit(s, &busy, DCACHE_UNCACHED_WRITES)
		if (addr - part->uncached[s].addr < part->uncached[s].nr)
			return true;
	return false;
}

/*
 * Sleep, with the mutex dropped, until no write with no block is on its
 * way to @addr: the block made after it loads what it wrote.
 */
static void wait_uncached_write(struct dcache *c, struct dcache_part *part, u64 addr)
{
	mutex_unlock(&c->lock);
	wait_var_event(&part->uncached_busy, !uncached_write_covers(part, addr));
	mutex_lock(&c->lock);
}

/*
 * A free block or a victim, pinned and hashed as (part, addr), no data
 * yet; none while a write with no block is on its way to @addr.
 */
static struct dcache_block *pin_new(struct dcache *c, struct dcache_part *part,
				    u64 addr, bool ahead)
{
	struct dcache_block *b;

	if (uncached_write_covers(part, addr))
		return NULL;
	b = cache_take_block(c, ahead);
	if (!b)
		return NULL;
	b->addr = addr;
	b->part_id = part->id;
	b->hashed = 1;
	b->flags = 0;
	b->refs = 1;
	b->epoch = 0;
	dcache_policy_first_access(&c->policy, &b->pe);
	hlist_add_head(&b->hash, cache_bucket(c, part->id, addr));
	list_add_tail(&b->part_link, &part->blocks);
	part->nr_blocks++;
	if (ahead)
		set_bit(DCACHE_B_AHEAD, &b->flags);
	else
		atomic64_inc(&c->stats.misses);
	return b;
}

/*
 * Find the block for (part, addr), or with PIN_WAIT allocate it, sleeping
 * while the cache is full (interruptible if asked); pin it without taking
 * its lock. NULL with *@error set if there is none.
 */
struct dcache_block *dcache_pin_block(struct dcache_part *part, u64 addr,
				      enum dcache_pin_how how, bool interruptible,
				      int *error)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	bool stalled = false;

	mutex_lock(&c->lock);
	for (;;) {
		b = dcache_lookup(c, part->id, addr);
		if (b) {
			pin_cached(c, b, how);
			break;
		}
		if (how != PIN_WAIT) {
			*error = -ENOENT;
			break;
		}
		b = pin_new(c, part, addr, false);
		if (b)
			break;
		if (unlikely(uncached_write_covers(part, addr))) {
			wait_uncached_write(c, part, addr);
			continue;
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
EXPORT_SYMBOL_IF_KUNIT(dcache_pin_block);

/* How many blocks from @addr on (at most @max) @part has no block for. */
static unsigned int uncached_run_locked(struct dcache *c, struct dcache_part *part,
					u64 addr, unsigned int max)
{
	unsigned int n;

	lockdep_assert_held(&c->lock);
	for (n = 0; n < max; n++)
		if (dcache_lookup(c, part->id, addr + n))
			break;
	return n;
}

/* Release the loading bit lock of @b and wake its waiters. */
static void end_loading(struct dcache_block *b)
{
	clear_bit_unlock(DCACHE_B_LOADING, &b->flags);
	/* wake_up_bit() needs the cleared bit visible before it looks for sleepers. */
	smp_mb__after_atomic();
	wake_up_bit(&b->flags, DCACHE_B_LOADING);
}

/* Drop the pins of @n blocks of one cache under one hold of its mutex. */
void dcache_unpin_run(struct dcache_block **blocks, unsigned int n)
{
	struct dcache *c;
	unsigned int i;

	if (!n)
		return;
	c = blocks[0]->cache;

	mutex_lock(&c->lock);
	for (i = 0; i < n; i++) {
		if (WARN_ON_ONCE(!blocks[i]->refs))
			continue;
		blocks[i]->refs--;
		release_block(c, blocks[i]);
	}
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_unpin_run);

/* What a run of blocks is pinned for (pin_run). */
enum run_use {
	RUN_MISS,	/* a read miss: fresh blocks */
	RUN_AHEAD,	/* a load ahead: fresh blocks from victims used once */
	RUN_WRITE,	/* a write-around: fresh blocks or write_can_take ones */
};

/*
 * Whether a write from the bio may take over cached @b while it goes to
 * the disk: nobody holds or pins it, and nothing of it is owed to the
 * disk or on the way there, so no older copy can land after the write.
 */
static bool write_can_take(const struct dcache_block *b)
{
	return !b->refs && !b->kept && list_empty(&b->versions) &&
	       !test_bit(DCACHE_B_DIRTY, &b->flags) &&
	       !test_bit(DCACHE_B_WRITING, &b->flags) &&
	       !test_bit(DCACHE_B_LOADING, &b->flags);
}

/*
 * Pin blocks for up to @max consecutive addresses from @addr, for @use,
 * each marked loading until the one backing I/O of the run ends, which
 * fills them (dcache_load_run_end) or writes their data
 * (dcache_write_run_end). Fresh blocks are free ones and clean victims
 * only: never waits, so map() may call it. Getters of these blocks wait
 * for the I/O as for any load. Returns how many, in @out.
 */
static unsigned int pin_run(struct dcache_part *part, u64 addr, unsigned int max,
			    struct dcache_block **out, enum run_use use)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	unsigned int n;

	mutex_lock(&c->lock);
	/* A write from a run goes to the disk: not before an older discard. */
	if (use == RUN_WRITE && part->discards_pending)
		max = 0;
	for (n = 0; n < max; n++) {
		b = dcache_lookup(c, part->id, addr + n);
		if (b && (use != RUN_WRITE || !write_can_take(b)))
			break;
		if (b)
			pin_cached(c, b, PIN_LOOKUP);
		else
			b = pin_new(c, part, addr + n, use == RUN_AHEAD);
		if (!b)
			break;
		/* Before the mutex drops: nobody can see it unlocked. */
		set_bit(DCACHE_B_LOADING, &b->flags);
		out[n] = b;
	}
	mutex_unlock(&c->lock);
	return n;
}

/* For a read miss: blocks where @part has none, for one backing read. */
unsigned int dcache_pin_uncached_run(struct dcache_part *part, u64 addr,
				     unsigned int max, struct dcache_block **out)
{
	return pin_run(part, addr, max, out, RUN_MISS);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_pin_uncached_run);

/*
 * The same for a load ahead of reads: victims used once at most, and no
 * miss counted; a block's first read counts as its first use.
 */
unsigned int dcache_pin_ahead_run(struct dcache_part *part, u64 addr,
				  unsigned int max, struct dcache_block **out)
{
	return pin_run(part, addr, max, out, RUN_AHEAD);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_pin_ahead_run);

/*
 * For a write of them all that goes straight to the disk (io.c:
 * write-around): fresh blocks, and cached ones that write_can_take, held
 * loading until it lands so that no reader copies, and no read miss
 * loads, the block meanwhile.
 */
unsigned int dcache_pin_write_run(struct dcache_part *part, u64 addr,
				  unsigned int max, struct dcache_block **out)
{
	return pin_run(part, addr, max, out, RUN_WRITE);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_pin_write_run);

/*
 * For a write of blocks from @addr on that goes straight to the disk with
 * no block of the cache (io.c: write-around in writeback mode): the most
 * of them, at most @max, that @part has no block for, claimed in slot
 * *@slot until dcache_end_uncached_write(). Meanwhile no block of them is
 * made (pin_new), so no load of the disk's older data is cached, and
 * getters wait. Taking no block, the write neither evicts one nor waits
 * for the mutex again at its end. Returns 0 if the first block is cached
 * or every slot is in use.
 */
unsigned int dcache_claim_uncached_write(struct dcache_part *part, u64 addr,
					 unsigned int max, unsigned int *slot)
{
	struct dcache *c = part->cache;
	unsigned int n = 0, s;

	mutex_lock(&c->lock);
	s = find_first_zero_bit(&part->uncached_busy, DCACHE_UNCACHED_WRITES);
	/* Not before an older discard, which would erase it. */
	if (s < DCACHE_UNCACHED_WRITES && !part->discards_pending)
		n = uncached_run_locked(c, part, addr, max);
	if (n) {
		part->uncached[s].addr = addr;
		part->uncached[s].nr = n;
		/* Released without the mutex: an atomic bit. */
		set_bit(s, &part->uncached_busy);
		*slot = s;
	}
	mutex_unlock(&c->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_claim_uncached_write);

/* The write of dcache_claim_uncached_write's @slot ended, in any context. */
void dcache_end_uncached_write(struct dcache_part *part, unsigned int slot)
{
	clear_bit_unlock(slot, &part->uncached_busy);
	/* wake_up_var() needs the cleared bit visible before it looks for sleepers. */
	smp_mb__after_atomic();
	wake_up_var(&part->uncached_busy);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_end_uncached_write);

/*
 * The end of the write of dcache_pin_write_run's @n blocks, which hold
 * its data, in any context: valid and clean if it landed; if not, neither
 * the cache's copy nor the disk's is known good, and the next reader
 * loads the disk's. The caller unpins them.
 */
void dcache_write_run_end(struct dcache_block **blocks, unsigned int n, int error)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (error) {
			clear_bit(DCACHE_B_VALID, &blocks[i]->flags);
		} else {
			clear_bit(DCACHE_B_READ_ERROR, &blocks[i]->flags);
			set_bit(DCACHE_B_VALID, &blocks[i]->flags);
		}
		end_loading(blocks[i]);
	}
}
EXPORT_SYMBOL_IF_KUNIT(dcache_write_run_end);

/* The end of the load of dcache_pin_uncached_run's @n blocks, in any context. */
void dcache_load_run_end(struct dcache_block **blocks, unsigned int n, int error)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		dcache_load_end(blocks[i], error);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_load_run_end);

/*
 * Give back the @n blocks of dcache_pin_uncached_run whose load was never
 * sent: they stay cached, without data, for the next getter to load.
 */
void dcache_abandon_load_run(struct dcache_block **blocks, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		end_loading(blocks[i]);
	dcache_unpin_run(blocks, n);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_abandon_load_run);

/* Drop a pin: of a get whose lock was released, or of dcache_get_for_copy(). */
void dcache_unpin(struct dcache_block *b)
{
	struct dcache *c = b->cache;

	mutex_lock(&c->lock);
	if (!WARN_ON_ONCE(!b->refs)) {
		b->refs--;
		dcache_release(c, b);
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
			end_loading(b);
			return 0;
		}
		submit_load(b);
	}
	wait_on_bit(&b->flags, DCACHE_B_LOADING, TASK_UNINTERRUPTIBLE);
	return dcache_block_valid(b) ? 0 : -EIO;
}

/*
 * Lock a pinned block for @access, loading it if @access needs data that is
 * not there. On error the lock is released and the pin kept.
 */
int dcache_lock_block(struct dcache_block *b, enum dcache_access access)
{
	int r = 0;

	if (access == DCACHE_READ)
		down_read(&b->lock);
	else
		down_write(&b->lock);
	wait_on_bit(&b->flags, DCACHE_B_LOADING, TASK_UNINTERRUPTIBLE);

	if (access == DCACHE_WRITE) {
		/* The caller overwrites the whole block. */
		clear_bit(DCACHE_B_READ_ERROR, &b->flags);
		set_bit(DCACHE_B_VALID, &b->flags);
	} else if (!dcache_block_valid(b)) {
		r = load_sync(b);
	}
	if (r)
		dcache_unlock_block(b, access);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_lock_block);

/*
 * Get the block for (part, addr) locked for @access, loaded unless WRITE:
 * allocate it if it is not cached, sleeping while the cache is full
 * (interruptible if asked). 0, or the load's or the wait's error.
 */
int dcache_get(struct dcache_part *part, u64 addr, enum dcache_access access,
	       bool interruptible, struct dcache_block **out)
{
	struct dcache_block *b;
	int r = 0;

	b = dcache_pin_block(part, addr, PIN_WAIT, interruptible, &r);
	if (!b)
		return r;
	r = dcache_lock_block(b, access);
	if (r) {
		dcache_unpin(b);
		return r;
	}
	*out = b;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_get);

/* Whether a reader holding @b's lock may copy its data now. */
static inline bool block_readable(const struct dcache_block *b)
{
	return dcache_block_valid(b) && !test_bit(DCACHE_B_LOADING, &b->flags);
}

/*
 * The fast path: a cached, valid block whose lock is free right now, or
 * NULL. Never allocates, evicts, or sleeps on I/O or on another holder (the
 * mutex is only held briefly). WRITE access also takes a cached invalid block.
 */
struct dcache_block *dcache_try_get(struct dcache_part *part, u64 addr,
				    enum dcache_access access)
{
	struct dcache_block *b;
	bool locked;
	int r;

	b = dcache_pin_block(part, addr, PIN_LOOKUP, false, &r);
	if (!b)
		return NULL;
	if (access == DCACHE_READ)
		locked = down_read_trylock(&b->lock);
	else
		locked = down_write_trylock(&b->lock);
	if (!locked) {
		dcache_unpin(b);
		return NULL;
	}
	if (access == DCACHE_WRITE && !test_bit(DCACHE_B_LOADING, &b->flags)) {
		clear_bit(DCACHE_B_READ_ERROR, &b->flags);
		set_bit(DCACHE_B_VALID, &b->flags);
		return b;
	}
	if (block_readable(b))
		return b;
	dcache_put(b, access);
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_try_get);

/*
 * For a write of a whole block that the cache has none for, from map(): a
 * fresh block for (@part, @addr), a free one or a clean victim, held
 * exclusive and valid (the write fills it), or NULL if the block is cached
 * or none is free right now. Never sleeps on a full cache: that is for
 * the work item (dcache_get), so that the submitter does not hop to a
 * worker for a write that only needs memory.
 */
struct dcache_block *dcache_try_get_new(struct dcache_part *part, u64 addr)
{
	struct dcache *c = part->cache;
	struct dcache_block *b = NULL;

	mutex_lock(&c->lock);
	if (!dcache_lookup(c, part->id, addr))
		b = pin_new(c, part, addr, false);
	/* Unpinned until now, so nobody holds its lock. */
	if (b && WARN_ON_ONCE(!down_write_trylock(&b->lock))) {
		b->refs--;
		dcache_release(c, b);
		b = NULL;
	}
	mutex_unlock(&c->lock);
	if (b)
		set_bit(DCACHE_B_VALID, &b->flags);
	return b;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_try_get_new);

/*
 * dcache_try_get(DCACHE_READ) for up to @max consecutive blocks from
 * @addr, pinned under one hold of the mutex: a read of many cached blocks.
 * Stops at the first block that is not cached, valid and free of writers
 * right now. Returns how many it got, in @out; put them with
 * dcache_put_read_run.
 *
 * @uncached, unless NULL, gives on entry the most blocks to count, and
 * says on return how many blocks from @addr on the part has no block for
 * at all, dirty, clean or loading (0 unless it got none): a read of them
 * may go straight to the disk, which holds their newest acknowledged
 * data. Found under the same hold of the mutex, so that a cold read
 * going around the cache takes the mutex once.
 */
unsigned int dcache_try_read_run(struct dcache_part *part, u64 addr, unsigned int max,
				 struct dcache_block **out, unsigned int *uncached)
{
	struct dcache *c = part->cache;
	struct dcache_block *b = NULL;
	unsigned int n, got;

	mutex_lock(&c->lock);
	for (n = 0; n < max; n++) {
		b = find_block(c, part->id, addr + n);
		if (!b || !block_readable(b))
			break;
		pin_cached_uncounted(c, b, PIN_LOOKUP);
		out[n] = b;
	}
	/* All valid: hits, counted once for the run. */
	if (n)
		atomic64_add(n, &c->stats.hits);
	if (uncached)
		*uncached = n || b ? 0 : uncached_run_locked(c, part, addr, *uncached);
	mutex_unlock(&c->lock);
	for (got = 0; got < n; got++) {
		b = out[got];
		if (!down_read_trylock(&b->lock))
			break;
		/* Loading or invalidated between the lookup and the lock. */
		if (!block_readable(b)) {
			up_read(&b->lock);
			break;
		}
	}
	dcache_unpin_run(out + got, n - got);
	return got;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_try_read_run);

/* Put @n blocks of dcache_try_read_run: their locks, then one hold of the mutex. */
void dcache_put_read_run(struct dcache_block **blocks, unsigned int n)
{
	unsigned int i;

	if (!n)
		return;
	for (i = 0; i < n; i++)
		up_read(&blocks[i]->lock);
	dcache_unpin_run(blocks, n);
	if (READ_ONCE(blocks[0]->cache->debug_check))
		WARN_ON(dcache_check(blocks[0]->cache));
}
EXPORT_SYMBOL_IF_KUNIT(dcache_put_read_run);

/* The end of a load, in any context (bio end_io). */
void dcache_load_end(struct dcache_block *b, int error)
{
	struct dcache *c = b->cache;

	if (error) {
		set_bit(DCACHE_B_READ_ERROR, &b->flags);
		atomic64_inc(&c->stats.read_errors);
	} else {
		clear_bit(DCACHE_B_READ_ERROR, &b->flags);
		set_bit(DCACHE_B_VALID, &b->flags);
		atomic64_inc(&c->stats.reads);
	}
	end_loading(b);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_load_end);

/* Release the lock of dcache_lock_block() but keep the pin. */
void dcache_unlock_block(struct dcache_block *b, enum dcache_access access)
{
	if (access == DCACHE_READ)
		up_read(&b->lock);
	else
		up_write(&b->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_unlock_block);

void dcache_put(struct dcache_block *b, enum dcache_access access)
{
	dcache_unlock_block(b, access);
	dcache_unpin(b);
	if (READ_ONCE(b->cache->debug_check))
		WARN_ON(dcache_check(b->cache));
}
EXPORT_SYMBOL_IF_KUNIT(dcache_put);

/* A snapshot of the block counts, under the mutex, and of the counters. */
void dcache_counts(struct dcache *c, struct dcache_counts *out)
{
	struct dcache_stats *st = &c->stats;

	mutex_lock(&c->lock);
	out->blocks_total = c->nr_blocks;
	out->blocks_free = c->nr_free;
	out->blocks_clean = c->nr_blocks - c->nr_free - c->nr_dirty;
	out->blocks_dirty = c->nr_dirty;
	out->blocks_kept = c->nr_kept;
	mutex_unlock(&c->lock);
	out->cow_copies = atomic64_read(&st->cow_copies);
	out->cow_waits = atomic64_read(&st->cow_waits);
	out->hits = atomic64_read(&st->hits);
	out->misses = atomic64_read(&st->misses);
	out->evictions = atomic64_read(&st->evictions);
	out->stalls = atomic64_read(&st->stalls);
	out->rounds = atomic64_read(&st->rounds);
	out->read_errors = atomic64_read(&st->read_errors);
	out->write_errors = atomic64_read(&st->write_errors);
	out->bytes_read = atomic64_read(&st->bytes_read);
	out->bytes_written = atomic64_read(&st->bytes_written);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_counts);

/* @bytes are being loaded from a part's disk. */
void dcache_account_read(struct dcache *c, unsigned int bytes)
{
	atomic64_add(bytes, &c->stats.bytes_read);
}

/* @blocks of @block_size bytes were written to a part's disk, or failed. */
void dcache_account_write(struct dcache *c, unsigned int blocks,
			  unsigned int block_size, int error)
{
	atomic64_add(blocks, &c->stats.writes);
	atomic64_add((u64)blocks * block_size, &c->stats.bytes_written);
	if (error)
		atomic64_add(blocks, &c->stats.write_errors);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_account_write);

/* An ordered write waited for room for a kept version: a stall. */
void dcache_account_cow_wait(struct dcache *c)
{
	atomic64_inc(&c->stats.cow_waits);
	atomic64_inc(&c->stats.stalls);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_account_cow_wait);

void dcache_account_round(struct dcache *c)
{
	atomic64_inc(&c->stats.rounds);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_account_round);

/* Loads and write-backs allocate from it, so they never fail for memory. */
struct bio_set *dcache_bio_set(struct dcache *c)
{
	return c->bio_set;
}

/* Check the invariants on every put (slow). */
void dcache_set_debug_check(struct dcache *c, bool on)
{
	WRITE_ONCE(c->debug_check, on);
}
