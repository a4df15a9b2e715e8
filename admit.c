// SPDX-License-Identifier: GPL-2.0
/*
 * Read admission: which read misses bring their blocks into the cache.
 * With read_admit 2 (the default) a read of a block the cache has none for
 * goes around the cache, as dm-linear would, and the block is remembered;
 * a miss of a remembered block takes it in. A block read only once would
 * be LRU-2's first victim anyway: not caching it saves the pin, the copy
 * and the eviction, so that cold random reads run at the disk's speed.
 * dm-cache's smq promotes blocks only once they are hit again, likewise.
 *
 * The memory of misses is a table of block addresses in buckets of four
 * slots, about twice as many slots as the pool has blocks: a full bucket
 * forgets one of its four in turn. Lossy by design: a forgotten miss only
 * costs one more read around the cache.
 *
 * Locking: none. Slots are read and written whole (READ_ONCE/WRITE_ONCE);
 * a race loses or keeps one remembered miss, which is only a hint.
 */
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "dcache_admit.h"
#include "dcache_export.h"

#define ADMIT_WAYS	4
/* Buckets of a device: 256 KiB of slots for the default 64 MiB pool. */
#define ADMIT_MIN_BITS	4
#define ADMIT_MAX_BITS	16

int dcache_admit_init(struct dcache_admit *a, u64 pool_blocks, u64 dev_blocks)
{
	u64 want = min(2 * pool_blocks, 2 * dev_blocks) / ADMIT_WAYS;
	unsigned int bits = want > 1 ? ilog2(want - 1) + 1 : 0;

	a->bits = clamp_t(unsigned int, bits, ADMIT_MIN_BITS, ADMIT_MAX_BITS);
	a->cursor = 0;
	a->slots = kvcalloc(ADMIT_WAYS << a->bits, sizeof(*a->slots), GFP_KERNEL);
	return a->slots ? 0 : -ENOMEM;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_init);

void dcache_admit_exit(struct dcache_admit *a)
{
	kvfree(a->slots);
	a->slots = NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_exit);

static u64 *admit_bucket(const struct dcache_admit *a, u64 addr)
{
	return &a->slots[hash_64(addr, a->bits) * ADMIT_WAYS];
}

/* Whether a read miss of @addr went around the cache lately. */
bool dcache_admit_seen(const struct dcache_admit *a, u64 addr)
{
	u64 *bucket = admit_bucket(a, addr);
	unsigned int i;

	for (i = 0; i < ADMIT_WAYS; i++)
		if (READ_ONCE(bucket[i]) == addr + 1)
			return true;
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_seen);

/* Remember that the read misses of @n blocks from @addr went around. */
void dcache_admit_note(struct dcache_admit *a, u64 addr, unsigned int n)
{
	unsigned int i, way, cursor;
	u64 *bucket;

	for (; n; n--, addr++) {
		bucket = admit_bucket(a, addr);
		way = ADMIT_WAYS;
		for (i = 0; i < ADMIT_WAYS; i++) {
			u64 v = READ_ONCE(bucket[i]);

			if (v == addr + 1)
				break;
			if (!v && way == ADMIT_WAYS)
				way = i;
		}
		if (i < ADMIT_WAYS)
			continue;
		if (way == ADMIT_WAYS) {
			cursor = READ_ONCE(a->cursor);
			WRITE_ONCE(a->cursor, cursor + 1);
			way = cursor % ADMIT_WAYS;
		}
		WRITE_ONCE(bucket[way], addr + 1);
	}
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_note);
