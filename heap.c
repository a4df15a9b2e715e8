// SPDX-License-Identifier: GPL-2.0
/*
 * The eviction policy interface (include/dcache_policy.h) and its default
 * policy, LRU-2 over a victim heap (include/dcache_heap.h). O(log n)
 * insert, delete and update; the slot array is allocated at cache creation
 * and replaced only when the pool grows, so no heap operation allocates.
 *
 * A hit costs the heap nothing: a candidate that is pinned for a hit stays
 * in the heap, parked, and its use goes into its live history (last,
 * last2), not its keys. The heap is put right lazily, at its top only:
 * before a victim is taken, a parked top leaves the heap (its release puts
 * it back), and a top whose keys lag its history takes the history as its
 * keys and sinks. Keys only grow, so the top that passes both tests is the
 * candidate with the oldest second-to-last use, as if every hit had
 * reordered the heap at once; a block hit while pinned, the common case,
 * costs one sift at most, at eviction, instead of a delete and an insert.
 *
 * Locking: none here; the caller holds the cache mutex, which grow takes
 * itself to publish the larger slot array.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/indirect_call_wrapper.h>
#include <linux/module.h>

#include "dcache_policy.h"
#include "dcache_export.h"

int dcache_heap_init(struct dcache_heap *heap, u32 capacity)
{
	heap->slots = kvcalloc(capacity, sizeof(*heap->slots), GFP_KERNEL);
	if (!heap->slots)
		return -ENOMEM;
	heap->size = 0;
	heap->capacity = capacity;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_heap_init);

void dcache_heap_free(struct dcache_heap *heap)
{
	kvfree(heap->slots);
	heap->slots = NULL;
	heap->size = 0;
	heap->capacity = 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_heap_free);

static void heap_place(struct dcache_heap *heap, u32 i, struct dcache_lru *e)
{
	heap->slots[i] = e;
	e->heap_index = i;
}

/* Move @e up from slot @i while it is older than its parent. */
static bool heap_sift_up(struct dcache_heap *heap, u32 i, struct dcache_lru *e)
{
	u32 start = i;

	while (i > 0) {
		u32 parent = (i - 1) / 2;

		if (!dcache_lru_older(e, heap->slots[parent]))
			break;
		heap_place(heap, i, heap->slots[parent]);
		i = parent;
	}
	heap_place(heap, i, e);
	return i != start;
}

/* Move @e down from slot @i while a child is older. */
static void heap_sift_down(struct dcache_heap *heap, u32 i, struct dcache_lru *e)
{
	for (;;) {
		u32 child = 2 * i + 1;

		if (child >= heap->size)
			break;
		if (child + 1 < heap->size &&
		    dcache_lru_older(heap->slots[child + 1], heap->slots[child]))
			child++;
		if (!dcache_lru_older(heap->slots[child], e))
			break;
		heap_place(heap, i, heap->slots[child]);
		i = child;
	}
	heap_place(heap, i, e);
}

void dcache_heap_insert(struct dcache_heap *heap, struct dcache_lru *e)
{
	if (WARN_ON_ONCE(dcache_lru_in_heap(e) || heap->size >= heap->capacity))
		return;
	heap_sift_up(heap, heap->size++, e);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_heap_insert);

/* Re-establish order around slot @i after its key changed. */
static void heap_fix(struct dcache_heap *heap, u32 i)
{
	struct dcache_lru *e = heap->slots[i];

	if (!heap_sift_up(heap, i, e))
		heap_sift_down(heap, i, e);
}

void dcache_heap_delete(struct dcache_heap *heap, struct dcache_lru *e)
{
	u32 i = e->heap_index;
	struct dcache_lru *last;

	if (WARN_ON_ONCE(i >= heap->size || heap->slots[i] != e))
		return;
	e->heap_index = DCACHE_NOT_IN_HEAP;
	last = heap->slots[--heap->size];
	heap->slots[heap->size] = NULL;
	if (last == e)
		return;
	heap_place(heap, i, last);
	heap_fix(heap, i);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_heap_delete);

void dcache_heap_update(struct dcache_heap *heap, struct dcache_lru *e)
{
	if (WARN_ON_ONCE(e->heap_index >= heap->size ||
			 heap->slots[e->heap_index] != e))
		return;
	heap_fix(heap, e->heap_index);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_heap_update);

struct dcache_lru *dcache_heap_pop(struct dcache_heap *heap)
{
	struct dcache_lru *e;

	if (!heap->size)
		return NULL;
	e = heap->slots[0];
	dcache_heap_delete(heap, e);
	return e;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_heap_pop);

bool dcache_heap_check(const struct dcache_heap *heap)
{
	u32 i;

	if (heap->size > heap->capacity)
		return false;
	for (i = 0; i < heap->size; i++) {
		const struct dcache_lru *e = heap->slots[i];

		if (!e || e->heap_index != i)
			return false;
		if (i > 0 && dcache_lru_older(e, heap->slots[(i - 1) / 2]))
			return false;
	}
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_heap_check);

/* ---- LRU-2 as a dcache policy */

static struct dcache_lru *lru2_of(struct dcache_policy_entry *e)
{
	return &e->lru2;
}

static int lru2_init(struct dcache_policy *p, u32 capacity)
{
	p->nr_parked = 0;
	return dcache_heap_init(&p->heap, capacity);
}

static void lru2_exit(struct dcache_policy *p)
{
	dcache_heap_free(&p->heap);
}

/* The slot array grows outside @lock and is swapped under it. */
static int lru2_grow(struct dcache_policy *p, u32 capacity, struct mutex *lock)
{
	struct dcache_heap *heap = &p->heap;
	struct dcache_lru **slots, **old;

	slots = kvcalloc(capacity, sizeof(*slots), GFP_KERNEL);
	if (!slots)
		return -ENOMEM;
	mutex_lock(lock);
	old = heap->slots;
	memcpy(slots, old, heap->size * sizeof(*slots));
	heap->slots = slots;
	heap->capacity = capacity;
	mutex_unlock(lock);
	kvfree(old);
	return 0;
}

static void lru2_init_entry(struct dcache_policy_entry *e)
{
	e->lru2.used = 0;
	e->lru2.used2 = 0;
	e->lru2.last = 0;
	e->lru2.last2 = 0;
	e->lru2.parked = false;
	e->lru2.heap_index = DCACHE_NOT_IN_HEAP;
}

/* A first access has an infinitely old second-to-last one. */
static void lru2_first_access(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	e->lru2.last2 = 0;
	e->lru2.last = p->tick++;
}

static void lru2_hit(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	e->lru2.last2 = e->lru2.last;
	e->lru2.last = p->tick++;
}

/* The entry's heap keys take its live history. */
static void take_history(struct dcache_lru *e)
{
	e->used = e->last;
	e->used2 = e->last2;
}

static void unpark(struct dcache_policy *p, struct dcache_lru *e)
{
	e->parked = false;
	p->nr_parked--;
}

static void lru2_evictable(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	struct dcache_lru *lru = lru2_of(e);

	if (dcache_lru_in_heap(lru)) {
		/* Parked since its pin: its keys catch up at the top. */
		if (!WARN_ON_ONCE(!lru->parked))
			unpark(p, lru);
		return;
	}
	take_history(lru);
	dcache_heap_insert(&p->heap, lru);
}

static void lru2_pin(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	struct dcache_lru *lru = lru2_of(e);

	if (dcache_lru_in_heap(lru) && !lru->parked) {
		lru->parked = true;
		p->nr_parked++;
	}
}

static void lru2_forget(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	struct dcache_lru *lru = lru2_of(e);

	if (!dcache_lru_in_heap(lru))
		return;
	if (lru->parked)
		unpark(p, lru);
	dcache_heap_delete(&p->heap, lru);
}

/*
 * Put the heap's top right: parked tops leave, tops whose keys lag their
 * history sink with the history as keys. Then the top is the victim.
 */
static void lru2_settle(struct dcache_policy *p)
{
	struct dcache_heap *heap = &p->heap;
	struct dcache_lru *top;

	while (heap->size) {
		top = heap->slots[0];
		if (top->parked) {
			unpark(p, top);
			dcache_heap_delete(heap, top);
		} else if (top->used != top->last || top->used2 != top->last2) {
			take_history(top);
			dcache_heap_update(heap, top);
		} else {
			return;
		}
	}
}

static struct dcache_policy_entry *lru2_victim(struct dcache_policy *p)
{
	struct dcache_lru *v;

	lru2_settle(p);
	v = dcache_heap_pop(&p->heap);
	return v ? container_of(v, struct dcache_policy_entry, lru2) : NULL;
}

/* The victim's second-to-last use: 0 if there was none. */
static bool lru2_victim_used_once(struct dcache_policy *p)
{
	lru2_settle(p);
	return p->heap.size && !p->heap.slots[0]->used2;
}

/* In the heap, its slot points back at it, and not parked. */
static bool lru2_is_candidate(const struct dcache_policy *p,
			      const struct dcache_policy_entry *e)
{
	const struct dcache_heap *heap = &p->heap;
	u32 i = e->lru2.heap_index;

	return i != DCACHE_NOT_IN_HEAP && i < heap->size && heap->slots[i] == &e->lru2 &&
	       !e->lru2.parked;
}

static u32 lru2_nr_candidates(const struct dcache_policy *p)
{
	return p->heap.size - p->nr_parked;
}

/* The heap's order, the parked count, and keys never ahead of history. */
static bool lru2_check(const struct dcache_policy *p)
{
	const struct dcache_heap *heap = &p->heap;
	const struct dcache_lru *e;
	u32 i, parked = 0;

	if (!dcache_heap_check(heap))
		return false;
	for (i = 0; i < heap->size; i++) {
		e = heap->slots[i];
		parked += e->parked;
		if (e->used > e->last || (e->used == e->last && e->used2 != e->last2))
			return false;
	}
	return parked == p->nr_parked;
}

const struct dcache_policy_ops dcache_policy_lru2 = {
	.name = "lru2",
	.init = lru2_init,
	.exit = lru2_exit,
	.grow = lru2_grow,
	.init_entry = lru2_init_entry,
	.first_access = lru2_first_access,
	.hit = lru2_hit,
	.evictable = lru2_evictable,
	.pin = lru2_pin,
	.forget = lru2_forget,
	.victim = lru2_victim,
	.victim_used_once = lru2_victim_used_once,
	.is_candidate = lru2_is_candidate,
	.nr_candidates = lru2_nr_candidates,
	.check = lru2_check,
};
EXPORT_SYMBOL_IF_KUNIT(dcache_policy_lru2);

/* ---- the calls of every cached read, LRU-2's without an indirect call */

/* A use of a cached block pinned for it: its first (@first, read ahead) or a hit. */
void dcache_policy_pin_use(struct dcache_policy *p, struct dcache_policy_entry *e,
			   bool first)
{
	INDIRECT_CALL_1(p->ops->pin, lru2_pin, p, e);
	if (first)
		INDIRECT_CALL_1(p->ops->first_access, lru2_first_access, p, e);
	else
		INDIRECT_CALL_1(p->ops->hit, lru2_hit, p, e);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_policy_pin_use);

/* Make @e a candidate unless it is one; whether it was not. */
bool dcache_policy_offer(struct dcache_policy *p, struct dcache_policy_entry *e)
{
	if (INDIRECT_CALL_1(p->ops->is_candidate, lru2_is_candidate, p, e))
		return false;
	INDIRECT_CALL_1(p->ops->evictable, lru2_evictable, p, e);
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_policy_offer);

/* ---- the policies by name */

static const struct dcache_policy_ops *const dcache_policies[] = {
	&dcache_policy_lru2,
	&dcache_policy_lru,
};

/* The policy called @name, or NULL. */
const struct dcache_policy_ops *dcache_policy_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dcache_policies); i++)
		if (!strcmp(name, dcache_policies[i]->name))
			return dcache_policies[i];
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_policy_find);

int dcache_policy_init(struct dcache_policy *p, const struct dcache_policy_ops *ops,
		       u32 capacity, u64 first_tick)
{
	int r;

	p->ops = ops ?: &dcache_policy_lru2;
	p->tick = first_tick ?: 1;
	r = p->ops->init(p, capacity);
	if (r)
		p->ops = NULL;
	return r;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_policy_init);
