/* tests/unit/store_engine.h — which engine the store-level tests open.
 * STITCH_TEST_STORE=clickhouse (with STITCH_TEST_CLICKHOUSE_URL, which
 * tests/clickhouse/run_unit.sh sets after starting a throwaway server) runs
 * them against ClickHouse; anything else, the embedded store. Each data
 * directory maps to its own ClickHouse database, so a test's store starts
 * empty and a reopen finds what it wrote. */
#ifndef STITCH_TESTS_STORE_ENGINE_H
#define STITCH_TESTS_STORE_ENGINE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static bool store_engine_is_ch(void)
{
    const char *e = getenv("STITCH_TEST_STORE");
    return e && !strcmp(e, "clickhouse");
}

/* Point o at the engine under test; dir is the test's data directory. The
 * strings live until the next call (the store copies them at open). */
static void store_engine_apply(stitch_store_opts_t *o, const char *dir)
{
    static char db[128];
    if (!store_engine_is_ch())
        return;
    const char *base = strrchr(dir, '/');
    base = base ? base + 1 : dir;
    size_t n = (size_t)snprintf(db, sizeof db, "t_%s", base);
    for (size_t i = 0; i < n && i < sizeof db; i++)
        if (!((db[i] >= 'a' && db[i] <= 'z') || (db[i] >= 'A' && db[i] <= 'Z') || (db[i] >= '0' && db[i] <= '9')))
            db[i] = '_';
    o->engine = "clickhouse";
    o->clickhouse_url = getenv("STITCH_TEST_CLICKHOUSE_URL");
    o->clickhouse_database = db;
}

#endif
