// SPDX-License-Identifier: GPL-2.0
/*
 * The LRU-2 victim heap (see include/dcache_heap.h). O(log n) insert,
 * delete and update; the slot array is allocated once, at cache creation,
 * so no heap operation allocates.
 *
 * Locking: none here; the caller holds the cache mutex.
 */
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "dcache_heap.h"
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
