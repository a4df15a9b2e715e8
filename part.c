// SPDX-License-Identifier: GPL-2.0
/*
 * The part registry of a cache and, beside pool.c, the retirement of the
 * blocks of a chunk that a shrink takes out of the pool (see
 * include/dcache_core.h for the words).
 *
 * Consistency groups (struct dcache_group) are made by their first member
 * and freed with their last.
 *
 * Locking: dcache.lock for the registry (an xarray whose allocations run
 * under its own lock, never under the mutex), each part's block list and
 * counts, the groups and their member lists, and the retiring range. A
 * retire pass holds the mutex for one pass over one chunk.
 */
#include <linux/slab.h>
#include <linux/log2.h>
#include <linux/module.h>

#include "dcache_core.h"
#include "dcache_export.h"

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
	part->sector_shift = ilog2(block_size) - SECTOR_SHIFT;
	part->dirty = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&part->blocks);
	INIT_LIST_HEAD(&part->discards);
	INIT_LIST_HEAD(&part->group_link);
	part->own_epoch = 1;
	part->epoch = &part->own_epoch;

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

static struct dcache_group *find_group(struct dcache *c, const char *name)
{
	struct dcache_group *g;

	list_for_each_entry(g, &c->groups, link)
		if (!strcmp(g->name, name))
			return g;
	return NULL;
}

/*
 * Put @part, which has no dirt yet, into the consistency group @name,
 * made if it has no member: from now on its epochs are the group's.
 * -EINVAL for a name that is empty or too long, -EEXIST if it is in a
 * group already, -ENOMEM.
 */
int dcache_part_join_group(struct dcache_part *part, const char *name)
{
	struct dcache *c = part->cache;
	struct dcache_group *g, *fresh;

	if (!*name || strlen(name) > DCACHE_GROUP_NAME_MAX)
		return -EINVAL;
	/* Allocated before the mutex: reclaim may write to a cache device. */
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	mutex_lock(&c->lock);
	if (part->group) {
		mutex_unlock(&c->lock);
		kfree(fresh);
		return -EEXIST;
	}
	g = find_group(c, name);
	if (!g) {
		g = fresh;
		fresh = NULL;
		strscpy(g->name, name, sizeof(g->name));
		INIT_LIST_HEAD(&g->parts);
		g->epoch = 1;
		list_add(&g->link, &c->groups);
	}
	/* Its epochs go on from the group's: they only grow. */
	g->epoch = max(g->epoch, *part->epoch);
	list_add_tail(&part->group_link, &g->parts);
	part->group = g;
	part->epoch = &g->epoch;
	mutex_unlock(&c->lock);
	kfree(fresh);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_part_join_group);

/* Under the mutex: @part's epochs become its own again, from the group's. */
static struct dcache_group *leave_group(struct dcache_part *part)
{
	struct dcache_group *g = part->group;

	if (!g)
		return NULL;
	part->own_epoch = g->epoch;
	part->epoch = &part->own_epoch;
	part->group = NULL;
	list_del_init(&part->group_link);
	/* Members waiting for its stages may go on. */
	dcache_stage_progress(part->cache);
	if (!list_empty(&g->parts))
		return NULL;
	list_del(&g->link);
	return g;
}

/*
 * Take @part out of its consistency group, if any: its epochs and stages
 * are its own again, and the others no longer wait for its disk.
 */
void dcache_part_leave_group(struct dcache_part *part)
{
	struct dcache *c = part->cache;
	struct dcache_group *empty;

	mutex_lock(&c->lock);
	empty = leave_group(part);
	mutex_unlock(&c->lock);
	kfree(empty);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_part_leave_group);

/* The name of @part's consistency group, or NULL; stable while it is in it. */
const char *dcache_part_group_name(const struct dcache_part *part)
{
	return part->group ? part->group->name : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_part_group_name);

/*
 * Unregister a device and free its blocks; the others' blocks stay. The
 * caller has written back and quiesced it: a pinned or dirty block of the
 * part refuses the removal with -EBUSY and changes nothing.
 */
int dcache_remove_part(struct dcache_part *part)
{
	struct dcache *c = part->cache;
	struct dcache_block *b, *tmp;
	struct dcache_group *empty;

	mutex_lock(&c->lock);
	list_for_each_entry(b, &part->blocks, part_link) {
		if (b->refs || test_bit(DCACHE_B_DIRTY, &b->flags)) {
			mutex_unlock(&c->lock);
			return -EBUSY;
		}
	}
	list_for_each_entry_safe(b, tmp, &part->blocks, part_link) {
		dcache_policy_forget(&c->policy, &b->pe);
		dcache_unhash(c, b);
		if (dcache_block_retiring(c, b)) {
			dcache_retire_block(c, b);
			continue;
		}
		list_add(&b->link, &c->free);
		c->nr_free++;
	}
	xa_erase(&c->parts, part->id);
	dcache_free_discards(part);
	empty = leave_group(part);
	wake_up_all(&c->free_wait);
	mutex_unlock(&c->lock);
	kfree(empty);
	kfree(part);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_remove_part);

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
		struct dcache_block *b = dcache_block_at(c, i);

		if (test_bit(DCACHE_B_RETIRED, &b->flags))
			continue;
		if (!b->hashed) {
			list_del_init(&b->link);	/* from the free list */
			c->nr_free--;
			dcache_retire_block(c, b);
		} else if (dcache_block_evictable(b)) {
			dcache_policy_forget(&c->policy, &b->pe);
			dcache_unhash(c, b);
			dcache_retire_block(c, b);
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
		struct dcache_block *b = dcache_block_at(c, i);

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

