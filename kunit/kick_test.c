// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: when the flusher runs rounds (kick.c), with made-up times: kicks
 * during a round coalesce into one more round, a delayed kick keeps the
 * earliest deadline and is consumed by the round it starts, an idle cache
 * has nothing due, and a synchronous caller waits for a round that starts
 * after its request, not for the one under way.
 */
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/delay.h>

#include "dcache_kick.h"

#define T0 100000UL	/* a made-up "now" in jiffies */

static void kick_idle_test(struct kunit *test)
{
	struct dcache_kick k;

	dcache_kick_init(&k);
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, T0));
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, T0 + 1000000));
	KUNIT_EXPECT_EQ(test, dcache_kick_deadline(&k), 0UL);
}

static void kick_coalesce_test(struct kunit *test)
{
	struct dcache_kick k;
	u64 round;

	dcache_kick_init(&k);
	dcache_kick_now(&k);
	KUNIT_EXPECT_TRUE(test, dcache_kick_due(&k, T0));
	round = dcache_kick_begin_round(&k);
	KUNIT_EXPECT_EQ(test, round, 1ULL);
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, T0));
	/* Three kicks during the round: one more round, then nothing. */
	dcache_kick_now(&k);
	dcache_kick_now(&k);
	dcache_kick_at(&k, T0 + 5);
	dcache_kick_now(&k);
	dcache_kick_end_round(&k, round);
	KUNIT_EXPECT_TRUE(test, dcache_kick_due(&k, T0));
	round = dcache_kick_begin_round(&k);
	dcache_kick_end_round(&k, round);
	KUNIT_EXPECT_EQ(test, round, 2ULL);
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, T0 + 1000));
}

static void kick_delayed_test(struct kunit *test)
{
	struct dcache_kick k;

	dcache_kick_init(&k);
	dcache_kick_at(&k, T0 + 100);
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, T0));
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, T0 + 99));
	KUNIT_EXPECT_TRUE(test, dcache_kick_due(&k, T0 + 100));
	/* A later delayed kick does not postpone; an earlier one advances. */
	dcache_kick_at(&k, T0 + 500);
	KUNIT_EXPECT_EQ(test, dcache_kick_deadline(&k), T0 + 100);
	dcache_kick_at(&k, T0 + 10);
	KUNIT_EXPECT_EQ(test, dcache_kick_deadline(&k), T0 + 10);
	KUNIT_EXPECT_TRUE(test, dcache_kick_due(&k, T0 + 10));
	/* The round consumes it: not sticky (a sticky kick scans for ever). */
	dcache_kick_end_round(&k, dcache_kick_begin_round(&k));
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, T0 + 1000000));
	/* Deadlines compare across a jiffies wrap. */
	dcache_kick_at(&k, ULONG_MAX - 5);
	KUNIT_EXPECT_FALSE(test, dcache_kick_due(&k, ULONG_MAX - 6));
	KUNIT_EXPECT_TRUE(test, dcache_kick_due(&k, 10));
}

struct sync_waiter {
	struct dcache_kick *k;
	struct completion asked;
	struct completion returned;
	u64 round;
};

static int sync_waiter_fn(void *arg)
{
	struct sync_waiter *w = arg;

	w->round = dcache_kick_request_round(w->k);
	complete(&w->asked);
	dcache_kick_wait(w->k, w->round);
	complete(&w->returned);
	return 0;
}

/* A caller that asks during round 1 waits for round 2 to end. */
static void kick_sync_wait_test(struct kunit *test)
{
	struct dcache_kick k;
	struct sync_waiter w = { .k = &k };
	struct task_struct *t;
	u64 r1, r2;

	dcache_kick_init(&k);
	init_completion(&w.asked);
	init_completion(&w.returned);
	r1 = dcache_kick_begin_round(&k);
	t = kthread_run(sync_waiter_fn, &w, "kick_test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&w.asked, 30 * HZ));
	KUNIT_EXPECT_EQ(test, w.round, r1 + 1);
	KUNIT_EXPECT_TRUE(test, dcache_kick_due(&k, T0));
	dcache_kick_end_round(&k, r1);
	KUNIT_EXPECT_FALSE(test, wait_for_completion_timeout(&w.returned, HZ / 5));
	r2 = dcache_kick_begin_round(&k);
	KUNIT_EXPECT_FALSE(test, wait_for_completion_timeout(&w.returned, HZ / 5));
	dcache_kick_end_round(&k, r2);
	KUNIT_EXPECT_TRUE(test, wait_for_completion_timeout(&w.returned, 30 * HZ));
	/* Asked while idle, the next round is enough. */
	KUNIT_EXPECT_EQ(test, dcache_kick_request_round(&k), r2 + 1);
	KUNIT_EXPECT_FALSE(test, dcache_kick_round_done(&k, r2 + 1));
}

static struct kunit_case dcache_kick_cases[] = {
	KUNIT_CASE(kick_idle_test),
	KUNIT_CASE(kick_coalesce_test),
	KUNIT_CASE(kick_delayed_test),
	KUNIT_CASE(kick_sync_wait_test),
	{}
};

static struct kunit_suite dcache_kick_suite = {
	.name = "dcache_kick",
	.test_cases = dcache_kick_cases,
};

kunit_test_suites(&dcache_kick_suite);
