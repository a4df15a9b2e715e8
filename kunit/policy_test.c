// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the eviction policies through their operations (LRU-2 and plain
 * LRU), and a whole cache on each: the same scan that LRU-2 resists
 * evicts the hot blocks under plain LRU.
 */
#include <kunit/test.h>
#include <linux/mutex.h>

#include "dcache_core.h"
#include "fake_disk.h"

#define BS 512
#define NR 8

struct policy_fixture {
	struct dcache_policy p;
	struct dcache_policy_entry e[NR];
};

static struct policy_fixture *policy_fixture(struct kunit *test,
					     const struct dcache_policy_ops *ops)
{
	struct policy_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_EQ(test, 0, dcache_policy_init(&f->p, ops, NR, 0));
	for (i = 0; i < NR; i++)
		dcache_policy_init_entry(&f->p, &f->e[i]);
	return f;
}

static int victim_index(struct policy_fixture *f)
{
	struct dcache_policy_entry *v = dcache_policy_victim(&f->p);

	return v ? v - f->e : -1;
}

static void policy_find_test(struct kunit *test)
{
	KUNIT_EXPECT_PTR_EQ(test, dcache_policy_find("lru2"), &dcache_policy_lru2);
	KUNIT_EXPECT_PTR_EQ(test, dcache_policy_find("lru"), &dcache_policy_lru);
	KUNIT_EXPECT_NULL(test, dcache_policy_find("clock"));
	KUNIT_EXPECT_NULL(test, dcache_policy_find(""));
}

/* Plain LRU: the block released longest ago goes first. */
static void lru_release_order_test(struct kunit *test)
{
	struct policy_fixture *f = policy_fixture(test, &dcache_policy_lru);
	int i;

	for (i = 0; i < 4; i++) {
		dcache_policy_first_access(&f->p, &f->e[i]);
		dcache_policy_evictable(&f->p, &f->e[i]);
	}
	/* A use takes 1 out; its release puts it last. */
	dcache_policy_forget(&f->p, &f->e[1]);
	dcache_policy_hit(&f->p, &f->e[1]);
	KUNIT_EXPECT_FALSE(test, dcache_policy_is_candidate(&f->p, &f->e[1]));
	dcache_policy_evictable(&f->p, &f->e[1]);
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 4U);
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	KUNIT_EXPECT_EQ(test, victim_index(f), 0);
	KUNIT_EXPECT_EQ(test, victim_index(f), 2);
	KUNIT_EXPECT_EQ(test, victim_index(f), 3);
	KUNIT_EXPECT_EQ(test, victim_index(f), 1);
	KUNIT_EXPECT_EQ(test, victim_index(f), -1);
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 0U);
	/* Forgetting a block that is not a candidate does nothing. */
	dcache_policy_forget(&f->p, &f->e[5]);
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	dcache_policy_exit(&f->p);
}

/* LRU-2 through the ops: blocks used once go before blocks used twice. */
static void lru2_used_once_first_test(struct kunit *test)
{
	struct policy_fixture *f = policy_fixture(test, &dcache_policy_lru2);
	int i;

	for (i = 0; i < 4; i++) {
		dcache_policy_first_access(&f->p, &f->e[i]);
		if (i < 2)
			dcache_policy_hit(&f->p, &f->e[i]);
		dcache_policy_evictable(&f->p, &f->e[i]);
	}
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	KUNIT_EXPECT_TRUE(test, dcache_policy_is_candidate(&f->p, &f->e[3]));
	KUNIT_EXPECT_EQ(test, victim_index(f), 2);
	KUNIT_EXPECT_EQ(test, victim_index(f), 3);
	KUNIT_EXPECT_EQ(test, victim_index(f), 0);
	KUNIT_EXPECT_EQ(test, victim_index(f), 1);
	KUNIT_EXPECT_EQ(test, victim_index(f), -1);
	dcache_policy_exit(&f->p);
}

/*
 * LRU-2 parks a pinned candidate where it is: no victim while pinned, and
 * after its release the order is as if its hits had reordered the heap.
 */
static void lru2_pin_parks_test(struct kunit *test)
{
	struct policy_fixture *f = policy_fixture(test, &dcache_policy_lru2);
	struct dcache_policy_entry *e = f->e;
	int i;

	for (i = 0; i < 4; i++) {
		dcache_policy_first_access(&f->p, &e[i]);
		dcache_policy_hit(&f->p, &e[i]);
		dcache_policy_evictable(&f->p, &e[i]);
	}
	/* The oldest is hit twice while pinned: newest once released. */
	dcache_policy_pin(&f->p, &e[0]);
	/* Parked, not deleted: a hit costs the heap nothing. */
	KUNIT_EXPECT_EQ(test, f->p.heap.size, 4U);
	KUNIT_EXPECT_FALSE(test, dcache_policy_is_candidate(&f->p, &e[0]));
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 3U);
	dcache_policy_hit(&f->p, &e[0]);
	dcache_policy_hit(&f->p, &e[0]);
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	dcache_policy_evictable(&f->p, &e[0]);
	KUNIT_EXPECT_TRUE(test, dcache_policy_is_candidate(&f->p, &e[0]));
	/* e[1] stays pinned through the victims: never offered. */
	dcache_policy_pin(&f->p, &e[1]);
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	KUNIT_EXPECT_EQ(test, victim_index(f), 2);
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	KUNIT_EXPECT_EQ(test, victim_index(f), 3);
	KUNIT_EXPECT_EQ(test, victim_index(f), 0);
	KUNIT_EXPECT_EQ(test, victim_index(f), -1);
	KUNIT_EXPECT_FALSE(test, dcache_policy_is_candidate(&f->p, &e[1]));
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	/* Released after it left the heap: back in, and the victim. */
	dcache_policy_evictable(&f->p, &e[1]);
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 1U);
	KUNIT_EXPECT_EQ(test, victim_index(f), 1);

	/* A parked entry forgotten (its block leaves) leaves the heap. */
	dcache_policy_first_access(&f->p, &e[5]);
	dcache_policy_evictable(&f->p, &e[5]);
	dcache_policy_pin(&f->p, &e[5]);
	dcache_policy_forget(&f->p, &e[5]);
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 0U);
	KUNIT_EXPECT_EQ(test, victim_index(f), -1);
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	dcache_policy_exit(&f->p);
}

/*
 * pin_use and offer, the combined calls of a cached read, on @ops: a
 * candidate is offered once, a hit takes it out until its offer, and a
 * first use (of a block read ahead) counts as the block's only one.
 * @read_ahead_first: whether that makes it the victim before a block used
 * twice (LRU-2), rather than after it (plain LRU, the order of release).
 */
static void pin_use_offer_check(struct kunit *test, const struct dcache_policy_ops *ops,
				bool read_ahead_first)
{
	struct policy_fixture *f = policy_fixture(test, ops);
	struct dcache_policy_entry *e = f->e;
	int i;

	for (i = 0; i < 4; i++) {
		dcache_policy_first_access(&f->p, &e[i]);
		KUNIT_EXPECT_TRUE(test, dcache_policy_offer(&f->p, &e[i]));
	}
	KUNIT_EXPECT_FALSE(test, dcache_policy_offer(&f->p, &e[2]));
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 4U);

	dcache_policy_pin_use(&f->p, &e[0], false);
	KUNIT_EXPECT_FALSE(test, dcache_policy_is_candidate(&f->p, &e[0]));
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 3U);
	KUNIT_EXPECT_TRUE(test, dcache_policy_offer(&f->p, &e[0]));
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	KUNIT_EXPECT_EQ(test, victim_index(f), 1);
	KUNIT_EXPECT_EQ(test, victim_index(f), 2);
	KUNIT_EXPECT_EQ(test, victim_index(f), 3);
	KUNIT_EXPECT_EQ(test, victim_index(f), 0);

	/* 4 is used twice; 5 once, then read ahead and used for the first time. */
	dcache_policy_first_access(&f->p, &e[4]);
	dcache_policy_hit(&f->p, &e[4]);
	KUNIT_EXPECT_TRUE(test, dcache_policy_offer(&f->p, &e[4]));
	dcache_policy_first_access(&f->p, &e[5]);
	KUNIT_EXPECT_TRUE(test, dcache_policy_offer(&f->p, &e[5]));
	dcache_policy_pin_use(&f->p, &e[5], true);
	KUNIT_EXPECT_TRUE(test, dcache_policy_offer(&f->p, &e[5]));
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	KUNIT_EXPECT_EQ(test, victim_index(f), read_ahead_first ? 5 : 4);
	KUNIT_EXPECT_EQ(test, victim_index(f), read_ahead_first ? 4 : 5);
	KUNIT_EXPECT_EQ(test, victim_index(f), -1);
	dcache_policy_exit(&f->p);
}

static void lru2_pin_use_offer_test(struct kunit *test)
{
	pin_use_offer_check(test, &dcache_policy_lru2, true);
}

static void lru_pin_use_offer_test(struct kunit *test)
{
	pin_use_offer_check(test, &dcache_policy_lru, false);
}

/* Growing keeps the candidates and their order. */
static void lru2_grow_test(struct kunit *test)
{
	struct policy_fixture *f = policy_fixture(test, &dcache_policy_lru2);
	struct mutex lock;	/* stands for the cache mutex */
	int i;

	mutex_init(&lock);

	for (i = 0; i < 3; i++) {
		dcache_policy_first_access(&f->p, &f->e[i]);
		dcache_policy_evictable(&f->p, &f->e[i]);
	}
	KUNIT_ASSERT_EQ(test, 0, dcache_policy_grow(&f->p, 2 * NR, &lock));
	KUNIT_EXPECT_TRUE(test, dcache_policy_check(&f->p));
	KUNIT_EXPECT_EQ(test, dcache_policy_nr_candidates(&f->p), 3U);
	KUNIT_EXPECT_EQ(test, victim_index(f), 0);
	dcache_policy_exit(&f->p);
}

static void read_n(struct kunit *test, struct fake_disk *d, u64 addr, int times)
{
	struct dcache_block *b;

	while (times--) {
		KUNIT_ASSERT_EQ(test, 0, dcache_get(d->part, addr, DCACHE_READ, false, &b));
		dcache_put(b, DCACHE_READ);
	}
}

static bool cached(struct fake_disk *d, u64 addr)
{
	struct dcache_block *b = dcache_try_get(d->part, addr, DCACHE_READ);

	if (b)
		dcache_put(b, DCACHE_READ);
	return b;
}

/* A whole cache on plain LRU: a scan evicts the hot blocks; invariants hold. */
static void lru_cache_scan_test(struct kunit *test)
{
	struct dcache_config cfg = {
		.nr_blocks = 8, .block_size = BS, .policy = &dcache_policy_lru,
	};
	struct dcache *c = fake_cache_cfg(test, &cfg);
	struct fake_disk *d = fake_disk_add(test, c, 64);
	u64 addr;

	for (addr = 0; addr < 4; addr++)
		read_n(test, d, addr, 2);
	for (addr = 10; addr < 40; addr++)
		read_n(test, d, addr, 1);
	for (addr = 0; addr < 4; addr++)
		KUNIT_EXPECT_FALSE(test, cached(d, addr));
	KUNIT_EXPECT_EQ(test, 0, dcache_check(c));
}

static struct kunit_case dcache_policy_test_cases[] = {
	KUNIT_CASE(policy_find_test),
	KUNIT_CASE(lru_release_order_test),
	KUNIT_CASE(lru2_used_once_first_test),
	KUNIT_CASE(lru2_pin_parks_test),
	KUNIT_CASE(lru2_grow_test),
	KUNIT_CASE(lru2_pin_use_offer_test),
	KUNIT_CASE(lru_pin_use_offer_test),
	KUNIT_CASE(lru_cache_scan_test),
	{}
};

static struct kunit_suite dcache_policy_test_suite = {
	.name = "dcache_policy",
	.test_cases = dcache_policy_test_cases,
};

kunit_test_suites(&dcache_policy_test_suite);
