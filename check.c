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
#include <linux/lockdep.h>
#include <linux/module.h>

#include "dcache_core.h"
#include "dcache_export.h"

/* True if @cond holds; else says which invariant broke. */
#define invariant(cond, fmt, ...)					\
	(likely(cond) ||						\
	 (pr_err("dcache: invariant broken: " fmt "\n", ##__VA_ARGS__), false))

/* What the walks count, to hold against the cache's counts. */
struct check_counts {
	u64 free;		/* on the free list */
	u64 unhashed;		/* blocks neither hashed nor retired */
	u64 retired;
	u64 dirty;		/* blocks with the DIRTY bit */
	u64 dirty_listed;	/* blocks in the parts' dirty trees */
	u64 candidates;		/* blocks the policy may evict */
	u64 busy;		/* hashed blocks that are not candidates */
	u64 kept;		/* pages kept for stages: copies and versions */
	u64 versions;		/* of them, newer versions */
};

static bool check_free_list(struct dcache *c, struct check_counts *n)
{
	struct dcache_block *b;

	list_for_each_entry(b, &c->free, link) {
		if (!invariant(!b->hashed, "free block %u is hashed", b->index))
			return false;
		n->free++;
	}
	return invariant(n->free == c->nr_free, "free list %llu, count %llu",
			 n->free, c->nr_free);
}

/* Each part's dirty tree: its dirty blocks only, in epoch order. */
static bool check_dirty_tree(struct dcache_part *part, struct check_counts *n)
{
	struct dcache_block *b, *prev;
	u64 listed = 0, epochs = 0, versions = 0;
	struct list_head *v;

	for (b = dcache_first_dirty(part); b; b = dcache_next_dirty(b)) {
		prev = rb_entry_safe(rb_prev(&b->dirty_node), struct dcache_block, dirty_node);
		if (!invariant(dcache_block_dirty(b) && b->part_id == part->id,
			       "block %u on part %u's dirty list", b->index, part->id))
			return false;
		if (!invariant(b->epoch <= b->last_epoch, "block %u epochs %llu..%llu",
			       b->index, b->epoch, b->last_epoch))
			return false;
		if (!invariant(!prev || prev->epoch <= b->epoch,
			       "dirty list not in epoch order at block %u", b->index))
			return false;
		epochs += !prev || prev->epoch != b->epoch;
		listed++;
		list_for_each(v, &b->versions)
			versions++;
	}
	n->dirty_listed += listed;
	return invariant(listed == part->nr_dirty, "part %u: %llu listed, %llu dirty",
			 part->id, listed, part->nr_dirty) &&
	       invariant(epochs == part->nr_dirty_epochs, "part %u: %llu epochs, counted %llu",
			 part->id, epochs, part->nr_dirty_epochs) &&
	       invariant(versions == part->nr_versions, "part %u: %llu versions, counted %llu",
			 part->id, versions, part->nr_versions);
}

/* A block off the hash: free, or retired with its chunk on the way out. */
static bool check_unhashed(struct dcache *c, struct dcache_block *b, u64 i,
			   struct check_counts *n)
{
	if (test_bit(DCACHE_B_RETIRED, &b->flags)) {
		n->retired++;
		if (!invariant(dcache_block_retiring(c, b) && list_empty(&b->link) &&
			       RB_EMPTY_NODE(&b->dirty_node),
			       "retired block %llu listed or not retiring", i))
			return false;
	} else {
		n->unhashed++;
	}
	return invariant(!b->refs && !(b->flags & ~BIT(DCACHE_B_RETIRED)) &&
			 !dcache_policy_is_candidate(&c->policy, &b->pe),
			 "free block %llu pinned, flagged or a candidate", i);
}

/*
 * The newer versions kept of @b: only behind a copy kept or in flight,
 * with distinct epochs after the block's oldest, ascending.
 */
static bool check_versions(struct dcache *c, struct dcache_block *b, u64 i,
			   struct check_counts *n)
{
	struct dcache_version *v;
	u64 after = b->epoch;

	if (list_empty(&b->versions))
		return true;
	if (!invariant(b->kept || test_bit(DCACHE_B_WRITING, &b->flags),
		       "block %llu keeps versions behind no copy", i))
		return false;
	list_for_each_entry(v, &b->versions, link) {
		if (!invariant(v->epoch > after, "block %llu: version of epoch %llu after %llu",
			       i, v->epoch, after))
			return false;
		after = v->epoch;
		n->kept++;
		n->versions++;
	}
	return true;
}

/* A hashed block: findable, of a registered part, in a coherent state. */
static bool check_hashed(struct dcache *c, struct dcache_block *b, u64 i,
			 struct check_counts *n)
{
	bool dirty = dcache_block_dirty(b);
	bool loading = test_bit(DCACHE_B_LOADING, &b->flags);

	if (!invariant(dcache_lookup(c, b->part_id, b->addr) == b,
		       "block %llu (%u/%llu) not found or not unique", i, b->part_id, b->addr) ||
	    !invariant(xa_load(&c->parts, b->part_id),
		       "block %llu of unregistered part %u", i, b->part_id) ||
	    !invariant(!dirty || dcache_block_valid(b), "dirty block %llu not valid", i) ||
	    !invariant(!b->kept || dirty, "clean block %llu keeps a copy", i) ||
	    !invariant(!loading || b->refs, "block %llu loading unpinned", i))
		return false;
	n->dirty += dirty;
	n->kept += !!b->kept;
	if (!check_versions(c, b, i, n))
		return false;
	if (dcache_policy_is_candidate(&c->policy, &b->pe)) {
		n->candidates++;
		return invariant(dcache_block_evictable(b), "block %llu a candidate but busy", i);
	}
	n->busy++;
	return invariant(!dcache_block_evictable(b),
			 "block %llu evictable but not a candidate", i);
}

static bool check_blocks(struct dcache *c, struct check_counts *n)
{
	struct dcache_block *b;
	u64 i;

	for (i = 0; i < c->nr_blocks; i++) {
		b = dcache_block_at(c, i);
		if (!invariant(b->index == i, "block %llu has index %u", i, b->index))
			return false;
		if (!(b->hashed ? check_hashed(c, b, i, n) : check_unhashed(c, b, i, n)))
			return false;
	}
	return true;
}

/* The walks' counts against the cache's, and every block in one state. */
static bool check_totals(struct dcache *c, const struct check_counts *n)
{
	struct dcache_part *part;
	u64 part_dirty = 0;
	unsigned long id;

	xa_for_each(&c->parts, id, part)
		part_dirty += part->nr_dirty;
	return invariant(n->unhashed == n->free, "%llu unhashed, %llu free",
			 n->unhashed, n->free) &&
	       invariant(n->dirty == c->nr_dirty && n->dirty_listed == n->dirty,
			 "dirty count %llu, dirty blocks %llu, dirty list %llu",
			 c->nr_dirty, n->dirty, n->dirty_listed) &&
	       invariant(n->candidates == dcache_policy_nr_candidates(&c->policy),
			 "policy has %u candidates, blocks %llu",
			 dcache_policy_nr_candidates(&c->policy), n->candidates) &&
	       invariant(n->retired == c->nr_retired, "retired %llu, count %llu",
			 n->retired, c->nr_retired) &&
	       invariant(n->free + n->candidates + n->busy + n->retired == c->nr_blocks,
			 "free %llu + candidates %llu + busy %llu + retired %llu != total %llu",
			 n->free, n->candidates, n->busy, n->retired, c->nr_blocks) &&
	       invariant(part_dirty == c->nr_dirty, "parts dirty %llu, cache %llu",
			 part_dirty, c->nr_dirty) &&
	       invariant(n->kept == c->nr_kept, "%llu pages kept, counted %llu",
			 n->kept, c->nr_kept) &&
	       invariant(n->versions == c->nr_versions, "%llu versions kept, counted %llu",
			 n->versions, c->nr_versions);
}

static int check_locked(struct dcache *c)
{
	struct check_counts n = {};
	struct dcache_part *part;
	unsigned long id;

	lockdep_assert_held(&c->lock);
	if (!check_free_list(c, &n))
		return -EUCLEAN;
	xa_for_each(&c->parts, id, part)
		if (!check_dirty_tree(part, &n))
			return -EUCLEAN;
	if (!invariant(dcache_policy_check(&c->policy), "policy %s broken",
		       c->policy.ops->name))
		return -EUCLEAN;
	if (!check_blocks(c, &n) || !check_totals(c, &n))
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
