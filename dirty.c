// SPDX-License-Identifier: GPL-2.0
/*
 * The block cache core, part two: dirt and epochs (see include/dcache_core.h
 * for the words). A writer marks a block dirty in the open epoch before it
 * changes the data; each part keeps its dirty blocks in a tree ordered by
 * epoch, so that a stage (the blocks of one part and one epoch) is a walk
 * from the tree's first node. The flusher (flush.c) collects a stage, takes
 * copies of its blocks under their shared locks, and reports each copy's
 * end here. Ordered-mode discards queue here for the stage of their epoch.
 *
 * Locking: dcache.lock for the dirty trees, the counts of dirty blocks,
 * the epoch fields, kept copy and kept versions of every block, the open
 * epoch, the discard queues and their discards_pending counts
 * (dcache_block_of_closed_epoch reads a block's epoch without it, and
 * dcache_discards_pending the count, as hints). Writers wait for stage
 * progress on dcache.stage_wait, with no lock held.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sort.h>
#include <linux/module.h>

#include "dcache_core.h"
#include "dcache_export.h"

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

/* Equal epochs sit side by side in the tree: a neighbour shares @b's. */
static bool epoch_shared(struct dcache_block *b)
{
	struct rb_node *prev = rb_prev(&b->dirty_node), *next = rb_next(&b->dirty_node);

	return (prev && rb_entry(prev, struct dcache_block, dirty_node)->epoch == b->epoch) ||
	       (next && rb_entry(next, struct dcache_block, dirty_node)->epoch == b->epoch);
}

static void dirty_tree_insert(struct dcache_part *part, struct dcache_block *b)
{
	rb_add_cached(&b->dirty_node, &part->dirty, dirty_before);
	if (!epoch_shared(b))
		part->nr_dirty_epochs++;
}

static void dirty_tree_erase(struct dcache_part *part, struct dcache_block *b)
{
	if (!epoch_shared(b))
		part->nr_dirty_epochs--;
	rb_erase_cached(&b->dirty_node, &part->dirty);
	RB_CLEAR_NODE(&b->dirty_node);
}

struct dcache_block *dcache_first_dirty(struct dcache_part *part)
{
	struct rb_node *n = rb_first_cached(&part->dirty);

	return n ? rb_entry(n, struct dcache_block, dirty_node) : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_first_dirty);

struct dcache_block *dcache_next_dirty(struct dcache_block *b)
{
	struct rb_node *n = rb_next(&b->dirty_node);

	return n ? rb_entry(n, struct dcache_block, dirty_node) : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_next_dirty);

static void dirty_tree_move(struct dcache *c, struct dcache_block *b, u64 epoch)
{
	struct dcache_part *part = xa_load(&c->parts, b->part_id);

	dirty_tree_erase(part, b);
	b->epoch = epoch;
	dirty_tree_insert(part, b);
}

/* A write-back copy of the block is in flight or kept for its stage. */
static bool copy_taken(const struct dcache_block *b)
{
	return test_bit(DCACHE_B_WRITING, &b->flags) || b->kept;
}

/*
 * The copy of @b's oldest data is on the disk: its next version is next,
 * kept (which becomes the copy its stage writes) or its data.
 */
static void move_to_next_version(struct dcache *c, struct dcache_block *b)
{
	struct dcache_part *part = xa_load(&c->parts, b->part_id);
	struct dcache_version *v;

	v = list_first_entry_or_null(&b->versions, struct dcache_version, link);
	if (!v) {
		dirty_tree_move(c, b, b->next_epoch);
		b->dirtied_at = b->next_dirtied_at;
		return;
	}
	list_del(&v->link);
	part->nr_versions--;
	c->nr_versions--;
	b->kept = v->page;
	dirty_tree_move(c, b, v->epoch);
	b->dirtied_at = v->dirtied_at;
	kfree(v);
	dcache_count_allocation(-1);
}

/*
 * Mark @b dirty in @epoch and kick write-back as due. A block already
 * dirty keeps its oldest epoch: its data must reach the device no later
 * than that epoch's stage.
 */
static void dirty_locked(struct dcache *c, struct dcache_block *b, u64 epoch)
{
	struct dcache_part *part;
	bool first = false, full;

	lockdep_assert_held(&c->lock);
	if (!test_and_set_bit(DCACHE_B_DIRTY, &b->flags)) {
		first = true;
		b->dirtied_at = (u32)jiffies;
		b->epoch = epoch;
		b->next_epoch = epoch;
		b->last_epoch = epoch;
		part = xa_load(&c->parts, b->part_id);
		dirty_tree_insert(part, b);
		c->nr_dirty++;
		part->nr_dirty++;
	} else {
		/* The first write after the copy: the next stage to write it. */
		if (copy_taken(b) && b->dirty_gen == b->copied_gen) {
			b->next_epoch = epoch;
			b->next_dirtied_at = (u32)jiffies;
		}
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
 * The block holds data of a closed epoch that no write-back copy has
 * taken: in ordered mode it must not be overwritten before its stage
 * copies it, WRITING or not (a copy in flight covers only the data up to
 * the moment it was taken), unless it is kept as a version.
 */
static bool held_by_older_epoch(const struct dcache_part *part,
				const struct dcache_block *b)
{
	if (!dcache_block_dirty(b))
		return false;
	if (copy_taken(b))
		return READ_ONCE(b->dirty_gen) != READ_ONCE(b->copied_gen) &&
		       READ_ONCE(b->next_epoch) < READ_ONCE(*part->epoch);
	return READ_ONCE(b->epoch) < READ_ONCE(*part->epoch);
}

/*
 * Room for one more kept version. Kept pages count against the dirty
 * budget: they may take what dirty blocks leave of it, and at least a
 * quarter of it, so that a database rewriting a few hot pages in every
 * epoch (its WAL) can run far ahead of its disk, while a cache full of
 * dirty blocks still lets ordered writers go on.
 */
static bool version_room(const struct dcache *c)
{
	u64 left = c->max_dirty - min(c->nr_dirty, c->max_dirty);

	return c->nr_kept < max(c->max_dirty / 4, left);
}

/*
 * Copy-on-write for an ordered writer of @b, which holds data of a closed
 * epoch that no copy has taken: keep that data in @v's page for its own
 * stage; the writer goes on. With no copy taken the page becomes the
 * block's kept copy (as a failed copy is kept); else @v joins the newer
 * versions, each of which its own stage writes in turn. False, with
 * nothing changed, when the reserve is spent: the writer waits.
 */
static bool keep_older_version(struct dcache *c, struct dcache_block *b,
			       struct dcache_version *v)
{
	struct dcache_part *part = xa_load(&c->parts, b->part_id);

	if (!version_room(c))
		return false;
	memcpy(page_address(v->page), b->data, part->block_size);
	if (!copy_taken(b)) {
		b->kept = v->page;
		kfree(v);
		dcache_count_allocation(-1);
	} else {
		v->epoch = b->next_epoch;
		v->dirtied_at = b->next_dirtied_at;
		list_add_tail(&v->link, &b->versions);
		part->nr_versions++;
		c->nr_versions++;
	}
	c->nr_kept++;
	/* The kept page is the copy: later writes start the next version. */
	b->copied_gen = b->dirty_gen;
	atomic64_inc(&c->stats.cow_copies);
	return true;
}

/* A page and its record for dcache_mark_dirty's copy-on-write; or NULL. */
struct dcache_version *dcache_alloc_version(gfp_t gfp)
{
	struct dcache_version *v = kmalloc(sizeof(*v), gfp | __GFP_NOWARN);

	if (!v)
		return NULL;
	v->page = alloc_page(gfp | __GFP_NOWARN);
	if (!v->page) {
		kfree(v);
		return NULL;
	}
	dcache_count_allocation(1);	/* the record: its page may end in a mempool */
	return v;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_alloc_version);

void dcache_free_version(struct dcache_version *v)
{
	if (!v)
		return;
	__free_page(v->page);
	kfree(v);
	dcache_count_allocation(-1);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_free_version);

/*
 * A hint for ordered writers of @b, which they hold exclusive, read
 * without the mutex: dcache_mark_dirty may need a spare version. The
 * write-back may change the answer meanwhile, so mark_dirty asks for one
 * (-ENOMEM) when it was wrong.
 */
bool dcache_block_of_closed_epoch(const struct dcache_part *part,
				  const struct dcache_block *b)
{
	return held_by_older_epoch(part, b);
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
 * cannot fall between choosing the epoch and marking the block. When
 * @ordered and the block holds data of a closed epoch not yet copied, that
 * data is kept in *@spare (from dcache_alloc_version outside the mutex;
 * taken: set NULL) for its stage. Refused, with nothing changed:
 *  -ENOMEM  @ordered, such data must be kept and no spare was given:
 *           bring one, or wait for stage progress if none can be had;
 *  -EAGAIN  @ordered, and the reserve for kept versions is spent: wait
 *           (dcache_write_must_wait) and retry; the caller counts the
 *           stall once per write (dcache_account_cow_wait), however
 *           often it retries;
 *  -ENOSPC  the part has its share of dirty blocks: wait for write-back;
 *  the part's write-back error when its share is spent on a failing disk.
 */
int dcache_mark_dirty(struct dcache_block *b, bool ordered,
		      struct dcache_version **spare)
{
	struct dcache *c = b->cache;
	struct dcache_part *part;
	int r = 0;

	mutex_lock(&c->lock);
	part = xa_load(&c->parts, b->part_id);
	if (ordered && held_by_older_epoch(part, b)) {
		if (!spare || !*spare) {
			r = -ENOMEM;
		} else if (keep_older_version(c, b, *spare)) {
			*spare = NULL;
			dirty_locked(c, b, *part->epoch);
		} else {
			r = -EAGAIN;
		}
	} else if (over_share(c, part, b)) {
		r = part->wb_error ?: -ENOSPC;
		if (c->flush_ops)
			c->flush_ops->kick(c, part);
	} else {
		dirty_locked(c, b, *part->epoch);
	}
	mutex_unlock(&c->lock);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_mark_dirty);

/*
 * Whether a writer of @addr must still wait: for room for a kept version
 * or an older stage's copy (@ordered), or for write-back to make room in
 * the part's share.
 */
bool dcache_write_must_wait(struct dcache_part *part, u64 addr, bool ordered)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	bool wait;

	mutex_lock(&c->lock);
	b = dcache_lookup(c, part->id, addr);
	wait = (ordered && b && held_by_older_epoch(part, b) && !version_room(c)) ||
	       over_share(c, part, b);
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

/* Read before looking at what to wait for: a wake-up after it is not lost. */
int dcache_stage_gen(struct dcache *c)
{
	return atomic_read(&c->stage_gen);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_stage_gen);

/* Sleep up to @timeout jiffies for stage progress after generation @gen. */
void dcache_wait_stage_progress(struct dcache *c, int gen, long timeout)
{
	wait_event_timeout(c->stage_wait, atomic_read(&c->stage_gen) != gen, timeout);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_wait_stage_progress);

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

/*
 * Close @part's open epoch (its group's, if it is in one); returns it.
 * Later dirt goes to the next one.
 */
u64 dcache_close_epoch(struct dcache_part *part)
{
	struct dcache *c = part->cache;
	u64 closed;

	mutex_lock(&c->lock);
	closed = (*part->epoch)++;
	mutex_unlock(&c->lock);
	return closed;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_close_epoch);

u64 dcache_current_epoch(struct dcache_part *part)
{
	return READ_ONCE(*part->epoch);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_current_epoch);

/* The block's data is on the disk or forgotten: so are its older versions. */
static void drop_kept(struct dcache *c, struct dcache_block *b)
{
	struct dcache_part *part = xa_load(&c->parts, b->part_id);
	struct dcache_version *v, *tmp;

	if (b->kept) {
		__free_page(b->kept);
		b->kept = NULL;
		c->nr_kept--;
	}
	list_for_each_entry_safe(v, tmp, &b->versions, link) {
		list_del(&v->link);
		part->nr_versions--;
		c->nr_versions--;
		c->nr_kept--;
		dcache_free_version(v);
	}
}

static void clean_locked(struct dcache *c, struct dcache_block *b)
{
	struct dcache_part *part;

	lockdep_assert_held(&c->lock);
	drop_kept(c, b);
	if (test_and_clear_bit(DCACHE_B_DIRTY, &b->flags)) {
		part = xa_load(&c->parts, b->part_id);
		dirty_tree_erase(part, b);
		c->nr_dirty--;
		part->nr_dirty--;
		dcache_release(c, b);
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

/* Still dirty in stage @epoch, and no copy of it in flight. */
static bool dirty_in(const struct dcache_block *b, u64 epoch)
{
	return dcache_block_dirty(b) && b->epoch == epoch &&
	       !test_bit(DCACHE_B_WRITING, &b->flags);
}

/*
 * Pin and lock shared the block at @addr for a write-back copy of stage
 * @epoch: 0, or -ENOENT if it is no longer dirty in that epoch (or not
 * cached). Not a use of the block: its policy history and hit counts stay.
 */
int dcache_get_for_copy(struct dcache_part *part, u64 addr, u64 epoch,
			struct dcache_block **out)
{
	struct dcache_block *b;
	int r = 0;

	b = dcache_pin_block(part, addr, PIN_QUIET, false, &r);
	if (!b)
		return r;
	down_read(&b->lock);
	wait_on_bit(&b->flags, DCACHE_B_LOADING, TASK_UNINTERRUPTIBLE);
	/* Under the shared lock only the copier changes epoch and state. */
	if (!dirty_in(b, epoch)) {
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
	if (kept)
		c->nr_kept--;
	else
		b->copied_gen = b->dirty_gen;
	mutex_unlock(&c->lock);
	return kept;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_writeback_start);

/*
 * The copy @*copy reached the device, or failed with @error. Unchanged
 * since the copy: clean, or still dirty in its stage on failure. Written
 * since: on success it stays dirty from the epoch of its next version
 * (kept, or its data); on failure the core keeps the copy (takes @*copy,
 * sets it NULL) so that the retry writes the stage's own data, never
 * newer. Returns whether the block was cleaned.
 */
bool dcache_writeback_end(struct dcache_block *b, int error, struct page **copy)
{
	struct dcache *c = b->cache;
	bool cleaned = false, redirty = false;

	mutex_lock(&c->lock);
	clear_bit(DCACHE_B_WRITING, &b->flags);
	if (!dcache_block_dirty(b) || b->copy_void) {
		/*
		 * Discarded since the copy, which was of forgotten data, failed
		 * or not: what is dirty now is newer.
		 */
		if (dcache_block_dirty(b))
			move_to_next_version(c, b);
	} else if (b->dirty_gen == b->copied_gen) {
		/* No write since the copy, so no newer version either. */
		if (!error) {
			clean_locked(c, b);
			cleaned = true;
		}
	} else if (error) {
		b->kept = *copy;
		*copy = NULL;
		c->nr_kept++;
	} else {
		move_to_next_version(c, b);
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
	return b->refs ||
	       (ordered && (b->kept || !list_empty(&b->versions) ||
			    held_by_older_epoch(xa_load(&c->parts, b->part_id), b)));
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
		b = dcache_lookup(c, part->id, a);
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
		queue->epoch = *part->epoch;
		*epoch = *part->epoch;	/* @queue may be gone once the mutex drops */
		list_add_tail(&queue->link, &part->discards);
		part->discards_pending++;
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

/*
 * @n discards taken by dcache_take_discards reached the disk (or were
 * refused, which leaves old data, never wrong data): writes may go to the
 * disk outside the stages again once none is left.
 */
void dcache_discards_issued(struct dcache_part *part, unsigned int n)
{
	struct dcache *c = part->cache;

	mutex_lock(&c->lock);
	part->discards_pending -= n;
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_discards_issued);

/*
 * Whether ordered discards of @part are queued or being issued: a hint
 * without the mutex, enough for a write that the user sent after the
 * discard ended (so after it was queued).
 */
bool dcache_discards_pending(const struct dcache_part *part)
{
	return READ_ONCE(part->discards_pending);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_discards_pending);

void dcache_free_discards(struct dcache_part *part)
{
	struct dcache_discard *d, *tmp;

	part->discards_pending = 0;
	list_for_each_entry_safe(d, tmp, &part->discards, link) {
		list_del(&d->link);
		kfree(d);
	}
}

static u64 oldest_dirty_epoch_locked(struct dcache_part *part)
{
	struct dcache_discard *d;
	struct dcache_block *b;

	b = dcache_first_dirty(part);
	d = list_first_entry_or_null(&part->discards, struct dcache_discard, link);
	return min(b ? b->epoch : U64_MAX, d ? d->epoch : U64_MAX);
}

/* The epoch of the oldest data of @part not on its disk; U64_MAX if none. */
u64 dcache_oldest_dirty_epoch(struct dcache_part *part)
{
	struct dcache *c = part->cache;
	u64 epoch;

	mutex_lock(&c->lock);
	epoch = oldest_dirty_epoch_locked(part);
	mutex_unlock(&c->lock);
	return epoch;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_oldest_dirty_epoch);

/*
 * Whether @part's writer may begin the stage of @epoch now. Alone, always.
 * In a consistency group, only when every other member has all its data
 * of older epochs durable: none of it dirty or queued, and no older stage
 * of it begun and not yet durable (a member holding such data is kicked).
 * Then the stage counts as begun until dcache_stage_durable.
 */
bool dcache_begin_stage(struct dcache_part *part, u64 epoch)
{
	struct dcache *c = part->cache;
	struct dcache_part *m;
	bool turn = true;

	/* Only the part's own writer, and its removal, change its group. */
	if (!READ_ONCE(part->group))
		return true;
	mutex_lock(&c->lock);
	if (part->group) {
		list_for_each_entry(m, &part->group->parts, group_link) {
			if (m == part || (oldest_dirty_epoch_locked(m) >= epoch &&
					  (!m->staging || m->staging >= epoch)))
				continue;
			turn = false;
			if (c->flush_ops)
				c->flush_ops->kick(c, m);
		}
		if (turn)
			part->staging = epoch;
	}
	mutex_unlock(&c->lock);
	return turn;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_begin_stage);

/* Everything @part's writer wrote is durable: its group may go on. */
void dcache_stage_durable(struct dcache_part *part)
{
	struct dcache *c = part->cache;

	/* Set only by the part's own writer, which calls this. */
	if (!READ_ONCE(part->staging))
		return;
	mutex_lock(&c->lock);
	part->staging = 0;
	mutex_unlock(&c->lock);
	dcache_stage_progress(c);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_stage_durable);

/*
 * How far @part's disk is behind, under one hold of the mutex: returns
 * the stages it owes (the distinct epochs of its dirt, each kept version
 * counted as one, at most the epochs since its oldest) and sets *@age_ms
 * to how long ago the oldest data not on it was written (that of its
 * oldest dirty epoch's first block), 0 if none.
 */
u64 dcache_part_backlog(struct dcache_part *part, unsigned int *age_ms)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	u32 age = 0;
	u64 epochs;

	mutex_lock(&c->lock);
	b = dcache_first_dirty(part);
	epochs = part->nr_dirty_epochs;
	if (b) {
		age = (u32)jiffies - b->dirtied_at;
		/* A newer version may be of an epoch no block's oldest data is. */
		epochs = min(epochs + part->nr_versions, *part->epoch + 1 - b->epoch);
	}
	mutex_unlock(&c->lock);
	*age_ms = jiffies_to_msecs(age);
	return epochs;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_part_backlog);

unsigned int dcache_part_lag_ms(struct dcache_part *part)
{
	unsigned int age_ms;

	dcache_part_backlog(part, &age_ms);
	return age_ms;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_part_lag_ms);

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
	for (b = dcache_first_dirty(part); b; b = dcache_next_dirty(b)) {
		if (n == max || b->epoch > epoch)
			break;
		if (b->epoch == epoch && !test_bit(DCACHE_B_WRITING, &b->flags))
			addrs[n++] = b->addr;
	}
	mutex_unlock(&c->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_collect_stage);

static int cmp_block_addr(const void *a, const void *b)
{
	u64 x = (*(struct dcache_block * const *)a)->addr;
	u64 y = (*(struct dcache_block * const *)b)->addr;

	return x < y ? -1 : x > y;
}

/*
 * For a flush that writes the whole dirt of @part as one stage without a
 * round (flush.c's quick flush). If @part's dirty blocks are at most @max,
 * all of its open epoch, with no kept version, queued discard, group or
 * copy in flight in the way, and each block's lock is free at once: close
 * the open epoch (*@closed), pin each dirty block and lock it shared into
 * @out, its address in @addrs, sorted by address, and return how many.
 * Otherwise 0, with nothing changed. Sleeps on dcache.lock only: the
 * caller may be a bio's submitter.
 */
unsigned int dcache_take_whole_dirt(struct dcache_part *part,
				    struct dcache_block **out, u64 *addrs,
				    unsigned int max, u64 *closed)
{
	struct dcache *c = part->cache;
	struct dcache_block *b;
	unsigned int n = 0, i;

	mutex_lock(&c->lock);
	if (!part->nr_dirty || part->nr_dirty > max || part->nr_versions ||
	    part->group || part->staging || !list_empty(&part->discards))
		goto out;
	for (b = dcache_first_dirty(part); b; b = dcache_next_dirty(b)) {
		if (n == max || b->epoch != *part->epoch ||
		    test_bit(DCACHE_B_WRITING, &b->flags) ||
		    !down_read_trylock(&b->lock))
			goto undo;
		/* Data still coming from the disk is not yet the block's. */
		if (test_bit(DCACHE_B_LOADING, &b->flags)) {
			up_read(&b->lock);
			goto undo;
		}
		dcache_pin_quiet_locked(c, b);
		out[n++] = b;
	}
	*closed = (*part->epoch)++;
	sort(out, n, sizeof(*out), cmp_block_addr, NULL);
	for (i = 0; i < n; i++)
		addrs[i] = out[i]->addr;
	goto out;
undo:
	for (i = 0; i < n; i++) {
		up_read(&out[i]->lock);
		out[i]->refs--;
		dcache_release(c, out[i]);
	}
	n = 0;
out:
	mutex_unlock(&c->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_take_whole_dirt);

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
	for (b = dcache_first_dirty(part); b; b = tmp) {
		tmp = dcache_next_dirty(b);
		if (b->refs)
			continue;
		clean_locked(c, b);
		clear_bit(DCACHE_B_VALID, &b->flags);
		lost++;
	}
	dcache_free_discards(part);
	mutex_unlock(&c->lock);
	dcache_stage_progress(c);
	return lost;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_drop_part_dirty);

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
 * The flusher of the cache (flush.c): its rounds write back, and @ops
 * kick them. NULL @ops: none from now on.
 */
void dcache_set_flusher(struct dcache *c, const struct dcache_flush_ops *ops,
			struct dcache_flusher *fl)
{
	mutex_lock(&c->lock);
	c->flush_ops = ops;
	if (ops)
		c->flusher = fl;
	mutex_unlock(&c->lock);
	if (!ops)
		c->flusher = NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_set_flusher);

struct dcache_flusher *dcache_flusher(struct dcache *c)
{
	return c->flusher;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_flusher);

/* @wr writes back @part's dirt from now on; NULL: nobody does. */
void dcache_part_set_writer(struct dcache_part *part, struct dcache_writer *wr)
{
	struct dcache *c = part->cache;

	mutex_lock(&c->lock);
	part->writer = wr;
	mutex_unlock(&c->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_part_set_writer);
