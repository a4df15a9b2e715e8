// SPDX-License-Identifier: GPL-2.0
/*
 * The dm-dcache KUnit module: every suite under kunit/ is linked into it and
 * runs when it is loaded (after dm-dcache.ko, whose internals it tests).
 */
#include <linux/module.h>

MODULE_DESCRIPTION("KUnit tests for dm-dcache");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
