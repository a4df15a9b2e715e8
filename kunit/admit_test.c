// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: read admission's memory of misses (admit.c): what it remembers,
 * how big it is, and what a full bucket forgets.
 */
#include <kunit/test.h>
#include <linux/hash.h>

#include "dcache_admit.h"

static void admit_init(struct kunit *test, struct dcache_admit *a, u64 pool, u64 dev)
{
	KUNIT_ASSERT_EQ(test, dcache_admit_init(a, pool, dev), 0);
}

/* Twice the pool's blocks in slots, rounded up; no more than the device needs. */
static void dcache_admit_size_test(struct kunit *test)
{
	struct dcache_admit a;

	admit_init(test, &a, 16384, 1 << 20);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 13);	/* 8192 buckets of 4 */
	dcache_admit_exit(&a);
	admit_init(test, &a, 16388, 1 << 20);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 14);
	dcache_admit_exit(&a);
	admit_init(test, &a, 16384, 100);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 6);	/* 64 buckets for 200 slots */
	dcache_admit_exit(&a);
	admit_init(test, &a, 16384, 1);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 4);
	dcache_admit_exit(&a);
	admit_init(test, &a, 1ULL << 40, 1ULL << 40);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 16);
	dcache_admit_exit(&a);
}

static void dcache_admit_note_test(struct kunit *test)
{
	struct dcache_admit a;
	u64 addr;

	admit_init(test, &a, 1024, 1 << 20);
	for (addr = 0; addr < 2000; addr++)
		KUNIT_EXPECT_FALSE(test, dcache_admit_seen(&a, addr));
	dcache_admit_note(&a, 100, 8);
	for (addr = 100; addr < 108; addr++)
		KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, addr));
	KUNIT_EXPECT_FALSE(test, dcache_admit_seen(&a, 99));
	KUNIT_EXPECT_FALSE(test, dcache_admit_seen(&a, 108));
	/* Address 0 is stored as 1: an empty slot never matches it. */
	KUNIT_EXPECT_FALSE(test, dcache_admit_seen(&a, 0));
	dcache_admit_note(&a, 0, 1);
	KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, 0));
	KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, 100));
	dcache_admit_exit(&a);
}

/* Four addresses a bucket: noting one again takes no second slot. */
static void dcache_admit_bucket_test(struct kunit *test)
{
	struct dcache_admit a;
	u64 same[5], addr;
	unsigned int n = 0, seen, i;

	admit_init(test, &a, 64, 1 << 20);	/* 32 buckets */
	for (addr = 0; n < 5; addr++)
		if (hash_64(addr, dcache_admit_bits(&a)) == hash_64(7, dcache_admit_bits(&a)))
			same[n++] = addr;
	KUNIT_ASSERT_EQ(test, same[0], 7);
	dcache_admit_note(&a, same[0], 1);
	dcache_admit_note(&a, same[0], 1);
	for (i = 1; i < 4; i++)
		dcache_admit_note(&a, same[i], 1);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, same[i]));
	dcache_admit_note(&a, same[4], 1);
	KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, same[4]));
	for (i = 0, seen = 0; i < 5; i++)
		seen += dcache_admit_seen(&a, same[i]);
	KUNIT_EXPECT_EQ(test, seen, 4);
	dcache_admit_exit(&a);
}

/* A scan far larger than the table: the latest misses are remembered. */
static void dcache_admit_scan_test(struct kunit *test)
{
	struct dcache_admit a;
	unsigned int seen = 0;
	u64 addr;

	admit_init(test, &a, 1024, 1 << 20);	/* 2048 slots */
	dcache_admit_note(&a, 0, 100000);
	for (addr = 0; addr < 100000; addr++)
		seen += dcache_admit_seen(&a, addr);
	/* Every bucket full, each with four of the addresses noted. */
	KUNIT_EXPECT_EQ(test, seen, 2048);
	KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, 99999));
	dcache_admit_exit(&a);
}

/*
 * A pool resized under a device: the table is stale until resized to
 * match, then as big as a new device's would be, and empty; a size that
 * needs no other table keeps the one it has, and what it remembers.
 */
static void dcache_admit_resize_test(struct kunit *test)
{
	struct dcache_admit a;

	admit_init(test, &a, 1024, 1 << 20);
	dcache_admit_note(&a, 5, 1);
	KUNIT_EXPECT_FALSE(test, dcache_admit_stale(&a, 1024));
	KUNIT_EXPECT_TRUE(test, dcache_admit_stale(&a, 1025));
	KUNIT_EXPECT_EQ(test, dcache_admit_resize(&a, 1025), 0);	/* 2050 slots: same */
	KUNIT_EXPECT_FALSE(test, dcache_admit_stale(&a, 1025));
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 9);
	KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, 5));

	KUNIT_EXPECT_EQ(test, dcache_admit_resize(&a, 16384), 0);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 13);
	KUNIT_EXPECT_FALSE(test, dcache_admit_stale(&a, 16384));
	KUNIT_EXPECT_FALSE(test, dcache_admit_seen(&a, 5));
	dcache_admit_note(&a, 0, 8192);
	KUNIT_EXPECT_TRUE(test, dcache_admit_seen(&a, 8191));

	/* Shrunk, and bounded by the device as at creation. */
	KUNIT_EXPECT_EQ(test, dcache_admit_resize(&a, 64), 0);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 5);
	dcache_admit_exit(&a);
	admit_init(test, &a, 64, 100);
	KUNIT_EXPECT_EQ(test, dcache_admit_resize(&a, 1 << 20), 0);
	KUNIT_EXPECT_EQ(test, dcache_admit_bits(&a), 6);
	dcache_admit_exit(&a);
}

static struct kunit_case dcache_admit_test_cases[] = {
	KUNIT_CASE(dcache_admit_size_test),
	KUNIT_CASE(dcache_admit_note_test),
	KUNIT_CASE(dcache_admit_bucket_test),
	KUNIT_CASE(dcache_admit_scan_test),
	KUNIT_CASE(dcache_admit_resize_test),
	{}
};

static struct kunit_suite dcache_admit_test_suite = {
	.name = "dcache_admit",
	.test_cases = dcache_admit_test_cases,
};

kunit_test_suites(&dcache_admit_test_suite);
