// SPDX-License-Identifier: GPL-2.0
/*
 * Plain LRU, the baseline eviction policy (see include/dcache_policy.h):
 * candidates wait on one list in the order they became evictable, and the
 * victim is the one at its head, the block released longest ago. A scan
 * of blocks used once goes through the whole list, which is what LRU-2
 * (heap.c) is for; this policy is here to measure that and to prove that
 * a policy is one file. Nothing here allocates.
 *
 * Locking: none here; the caller holds the cache mutex.
 */
#include <linux/list.h>
#include <linux/module.h>

#include "dcache_policy.h"
#include "dcache_export.h"

static int lru_init(struct dcache_policy *p, u32 capacity)
{
	INIT_LIST_HEAD(&p->lru.list);
	p->lru.nr = 0;
	return 0;
}

static void lru_exit(struct dcache_policy *p)
{
	INIT_LIST_HEAD(&p->lru.list);
	p->lru.nr = 0;
}

static int lru_grow(struct dcache_policy *p, u32 capacity, struct mutex *lock)
{
	return 0;
}

static void lru_init_entry(struct dcache_policy_entry *e)
{
	INIT_LIST_HEAD(&e->lru);
}

/* The order is that of release, so a use needs no bookkeeping. */
static void lru_access(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	p->tick++;
}

static void lru_evictable(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	if (WARN_ON_ONCE(!list_empty(&e->lru)))
		return;
	list_add_tail(&e->lru, &p->lru.list);
	p->lru.nr++;
}

static void lru_forget(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	if (list_empty(&e->lru))
		return;
	list_del_init(&e->lru);
	p->lru.nr--;
}

static struct dcache_policy_entry *lru_victim(struct dcache_policy *p)
{
	struct dcache_policy_entry *e;

	e = list_first_entry_or_null(&p->lru.list, struct dcache_policy_entry, lru);
	if (e)
		lru_forget(p, e);
	return e;
}

/* Plain LRU keeps no use counts: readahead takes only free blocks. */
static bool lru_victim_used_once(struct dcache_policy *p)
{
	return false;
}

static bool lru_is_candidate(const struct dcache_policy *p,
			     const struct dcache_policy_entry *e)
{
	return !list_empty(&e->lru);
}

static u32 lru_nr_candidates(const struct dcache_policy *p)
{
	return p->lru.nr;
}

static bool lru_check(const struct dcache_policy *p)
{
	const struct list_head *pos;
	u32 n = 0;

	list_for_each(pos, &p->lru.list)
		if (++n > p->lru.nr)
			return false;
	return n == p->lru.nr;
}

const struct dcache_policy_ops dcache_policy_lru = {
	.name = "lru",
	.init = lru_init,
	.exit = lru_exit,
	.grow = lru_grow,
	.init_entry = lru_init_entry,
	.first_access = lru_access,
	.hit = lru_access,
	.evictable = lru_evictable,
	.pin = lru_forget,
	.forget = lru_forget,
	.victim = lru_victim,
	.victim_used_once = lru_victim_used_once,
	.is_candidate = lru_is_candidate,
	.nr_candidates = lru_nr_candidates,
	.check = lru_check,
};
EXPORT_SYMBOL_IF_KUNIT(dcache_policy_lru);
