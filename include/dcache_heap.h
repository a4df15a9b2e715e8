/* SPDX-License-Identifier: GPL-2.0 */
/*
 * LRU-2 victim heap: a binary min-heap of cache entries ordered by their
 * second-to-last access tick, ties broken by the last access. An entry seen
 * once has used2 == 0, an "infinitely old" second access (LRU-K's rule), so
 * it goes before every entry seen twice. Ticks are 64-bit and never wrap.
 *
 * The heap has no lock of its own: its owner serialises every call (the
 * cache's global mutex).
 */
#ifndef DCACHE_HEAP_H
#define DCACHE_HEAP_H

#include <linux/types.h>

#define DCACHE_NOT_IN_HEAP U32_MAX

struct dcache_lru {
	u64 used;	/* tick of the last access: the heap's key */
	u64 used2;	/* tick of the access before that, 0 if none: the key */
	u32 heap_index;	/* slot in the heap, DCACHE_NOT_IN_HEAP if absent */
	/*
	 * The LRU-2 policy's (heap.c): the live history, which the keys
	 * catch up with when the entry is next ordered, and whether the
	 * entry waits in the heap while its block is pinned.
	 */
	bool parked;
	u64 last;
	u64 last2;
};

struct dcache_heap {
	struct dcache_lru **slots;
	u32 size;
	u32 capacity;
};

int dcache_heap_init(struct dcache_heap *heap, u32 capacity);
void dcache_heap_free(struct dcache_heap *heap);
void dcache_heap_insert(struct dcache_heap *heap, struct dcache_lru *e);
void dcache_heap_delete(struct dcache_heap *heap, struct dcache_lru *e);
void dcache_heap_update(struct dcache_heap *heap, struct dcache_lru *e);
struct dcache_lru *dcache_heap_pop(struct dcache_heap *heap);
bool dcache_heap_check(const struct dcache_heap *heap);

static inline bool dcache_lru_in_heap(const struct dcache_lru *e)
{
	return e->heap_index != DCACHE_NOT_IN_HEAP;
}

/* Record one access at @tick (LRU-2 history). */
static inline void dcache_lru_touch(struct dcache_lru *e, u64 tick)
{
	e->used2 = e->used;
	e->used = tick;
}

/* True if @a is a better victim than @b. */
static inline bool dcache_lru_older(const struct dcache_lru *a,
				    const struct dcache_lru *b)
{
	if (a->used2 != b->used2)
		return a->used2 < b->used2;
	return a->used < b->used;
}

#endif
