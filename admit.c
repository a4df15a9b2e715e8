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
 * The table is sized for the pool when the device is made, and made anew,
 * empty, when the pool is resized (dcache_admit_resize, from a work item
 * of the device).
 *
 * Locking: none for slots, which are read and written whole
 * (READ_ONCE/WRITE_ONCE); a race loses or keeps one remembered miss,
 * which is only a hint. The table itself is RCU: readers and noters hold
 * rcu_read_lock, a resize frees the old table after a grace period.
 */
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "dcache_admit.h"
#include "dcache_export.h"

#define ADMIT_WAYS	4
/* Buckets of a device: 256 KiB of slots for the default 64 MiB pool. */
#define ADMIT_MIN_BITS	4
#define ADMIT_MAX_BITS	16

/* How many buckets (log2) a table for @pool_blocks and @dev_blocks has. */
static unsigned int admit_bits(u64 pool_blocks, u64 dev_blocks)
{
	u64 want = min(2 * pool_blocks, 2 * dev_blocks) / ADMIT_WAYS;
	unsigned int bits = want > 1 ? ilog2(want - 1) + 1 : 0;

	return clamp_t(unsigned int, bits, ADMIT_MIN_BITS, ADMIT_MAX_BITS);
}

static struct dcache_admit_table *admit_table_alloc(unsigned int bits, u64 pool_blocks)
{
	struct dcache_admit_table *t;

	t = kvzalloc(struct_size(t, slots, ADMIT_WAYS << bits), GFP_KERNEL);
	if (t) {
		t->bits = bits;
		t->pool_blocks = pool_blocks;
	}
	return t;
}

int dcache_admit_init(struct dcache_admit *a, u64 pool_blocks, u64 dev_blocks)
{
	struct dcache_admit_table *t;

	t = admit_table_alloc(admit_bits(pool_blocks, dev_blocks), pool_blocks);
	a->dev_blocks = dev_blocks;
	a->cursor = 0;
	RCU_INIT_POINTER(a->table, t);
	return t ? 0 : -ENOMEM;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_init);

void dcache_admit_exit(struct dcache_admit *a)
{
	kvfree(rcu_dereference_protected(a->table, true));
	RCU_INIT_POINTER(a->table, NULL);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_exit);

/*
 * Whether the table was sized for a pool of other than @pool_blocks (the
 * pool was resized since): map() asks, cheaply, and has a worker resize.
 */
bool dcache_admit_stale(struct dcache_admit *a, u64 pool_blocks)
{
	bool stale;

	rcu_read_lock();
	stale = READ_ONCE(rcu_dereference(a->table)->pool_blocks) != pool_blocks;
	rcu_read_unlock();
	return stale;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_stale);

/*
 * Size the table for a pool of @pool_blocks: a new, empty one when the
 * size changes (what it remembered is only a hint), the old one freed
 * once no reader can see it. Callers are serialized (one work item).
 * -ENOMEM keeps the old table until the pool's next resize.
 */
int dcache_admit_resize(struct dcache_admit *a, u64 pool_blocks)
{
	struct dcache_admit_table *old = rcu_dereference_protected(a->table, true), *t;
	unsigned int bits = admit_bits(pool_blocks, a->dev_blocks);

	if (bits == old->bits) {
		WRITE_ONCE(old->pool_blocks, pool_blocks);
		return 0;
	}
	t = admit_table_alloc(bits, pool_blocks);
	if (!t) {
		/* Not again at every miss: at the pool's next resize. */
		WRITE_ONCE(old->pool_blocks, pool_blocks);
		return -ENOMEM;
	}
	rcu_assign_pointer(a->table, t);
	kvfree_rcu(old, rcu);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_resize);

/* For KUnit: log2 of the number of buckets. */
unsigned int dcache_admit_bits(struct dcache_admit *a)
{
	unsigned int bits;

	rcu_read_lock();
	bits = rcu_dereference(a->table)->bits;
	rcu_read_unlock();
	return bits;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_bits);

static u64 *admit_bucket(struct dcache_admit_table *t, u64 addr)
{
	return &t->slots[hash_64(addr, t->bits) * ADMIT_WAYS];
}

/* Whether a read miss of @addr went around the cache lately. */
bool dcache_admit_seen(struct dcache_admit *a, u64 addr)
{
	const u64 *bucket;
	unsigned int i;
	bool seen = false;

	rcu_read_lock();
	bucket = admit_bucket(rcu_dereference(a->table), addr);
	for (i = 0; i < ADMIT_WAYS && !seen; i++)
		seen = READ_ONCE(bucket[i]) == addr + 1;
	rcu_read_unlock();
	return seen;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_seen);

/* Remember that the read misses of @n blocks from @addr went around. */
void dcache_admit_note(struct dcache_admit *a, u64 addr, unsigned int n)
{
	struct dcache_admit_table *t;
	unsigned int i, way, cursor;
	u64 *bucket;

	rcu_read_lock();
	t = rcu_dereference(a->table);
	for (; n; n--, addr++) {
		bucket = admit_bucket(t, addr);
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
	rcu_read_unlock();
}
EXPORT_SYMBOL_IF_KUNIT(dcache_admit_note);
