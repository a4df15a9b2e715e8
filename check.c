// SPDX-License-Identifier: GPL-2.0
/*
 * The invariant checker of a cache: every count against what it counts,
 * every block in exactly one state (free, retired, a policy candidate, or
 * busy), the dirty trees in epoch order, the hash and the policy
 * consistent. KUnit runs it after every step; the debug_check parameter
 * runs it on every put.
 *
 * Locking: dcache.lock, held for the whole check.
 */
#include <linux/printk.h>
#include <linux/module.h>

#include "dcache_core.h"
#include "dcache_export.h"

/* True if @cond holds; else says which invariant broke. */
#define invariant(cond, fmt, ...)					\
	(likely(cond) ||						\
	 (pr_err("dcache: invariant broken: " fmt "\n", ##__VA_ARGS__), false))

static int check_locked(struct dcache *c)
{
	u64 i, nr_free = 0, nr_unhashed = 0, nr_dirty = 0, nr_dirty_list = 0, nr_retired = 0;
	u64 nr_busy = 0, nr_candidates = 0, part_dirty = 0;
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

		for (b = dcache_first_dirty(part); b; b = dcache_next_dirty(b)) {
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
	if (!invariant(dcache_policy_check(&c->policy), "policy %s broken",
		       c->policy.ops->name))
		return -EUCLEAN;

	for (i = 0; i < c->nr_blocks; i++) {
		bool dirty, loading;

		b = dcache_block_at(c, i);
		if (!invariant(b->index == i, "block %llu has index %u", i, b->index))
			return -EUCLEAN;
		if (!b->hashed) {
			if (test_bit(DCACHE_B_RETIRED, &b->flags)) {
				nr_retired++;
				if (!invariant(dcache_block_retiring(c, b) &&
					       list_empty(&b->link) &&
					       RB_EMPTY_NODE(&b->dirty_node),
					       "retired block %llu listed or not retiring", i))
					return -EUCLEAN;
			} else {
				nr_unhashed++;
			}
			if (!invariant(!b->refs && !(b->flags & ~BIT(DCACHE_B_RETIRED)) &&
				       !dcache_policy_is_candidate(&c->policy, &b->pe),
				       "free block %llu pinned, flagged or a candidate", i))
				return -EUCLEAN;
			continue;
		}
		if (!invariant(dcache_lookup(c, b->part_id, b->addr) == b,
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
		if (dcache_policy_is_candidate(&c->policy, &b->pe)) {
			if (!invariant(dcache_block_evictable(b),
				       "block %llu a candidate but busy", i))
				return -EUCLEAN;
			nr_candidates++;
		} else {
			if (!invariant(!dcache_block_evictable(b),
				       "block %llu evictable but not a candidate", i))
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
	if (!invariant(nr_candidates == dcache_policy_nr_candidates(&c->policy),
		       "policy has %u candidates, blocks %llu",
		       dcache_policy_nr_candidates(&c->policy), nr_candidates))
		return -EUCLEAN;
	if (!invariant(nr_retired == c->nr_retired, "retired %llu, count %llu",
		       nr_retired, c->nr_retired))
		return -EUCLEAN;
	if (!invariant(nr_free + nr_candidates + nr_busy + nr_retired == c->nr_blocks,
		       "free %llu + candidates %llu + busy %llu + retired %llu != total %llu",
		       nr_free, nr_candidates, nr_busy, nr_retired, c->nr_blocks))
		return -EUCLEAN;
	xa_for_each(&c->parts, id, part)
		part_dirty += part->nr_dirty;
	if (!invariant(part_dirty == c->nr_dirty, "parts dirty %llu, cache %llu",
		       part_dirty, c->nr_dirty))
		return -EUCLEAN;
	return 0;
}

/* Verify the invariants (see the top of this file); 0 or -EUCLEAN with a log line. */
int dcache_check(struct dcache *c)
{
	int r;

	mutex_lock(&c->lock);
	r = check_locked(c);
	mutex_unlock(&c->lock);
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_check);
