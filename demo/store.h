/* demo/store.h — the shop's product database as the product and inventory
 * services see it: SQLite (a file) or PostgreSQL (a libpq conninfo), each
 * statement a CLIENT span through stitch's SQLite / libpq adapter.
 *
 * DSN: "sqlite:PATH" or "postgres:CONNINFO" (e.g.
 * "postgres:host=127.0.0.1 port=5433 dbname=shop user=shop"). One
 * connection per process, used under a mutex. */
#ifndef STITCH_DEMO_STORE_H
#define STITCH_DEMO_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct demo_store demo_store_t;

typedef struct demo_product {
    char id[32];
    char name[96];
    int64_t price_cents;
    int64_t stock;
} demo_product_t;

/* Open; NULL with a message in errbuf. */
demo_store_t *demo_store_open(const char *dsn, char *errbuf, size_t errlen);
void demo_store_close(demo_store_t *s);

/* Create the products table and its rows when missing, untraced (it is the
 * demo's set-up, not the request). 0 or -1 with a message. */
int demo_store_seed(demo_store_t *s, char *errbuf, size_t errlen);

/* "SELECT * FROM products WHERE id = ?" (libpq: "$1"), traced. `delay_ms`
 * > 0 makes the statement that much slower (the SLOW knob: the wait happens
 * inside the statement's span, as a slow query's would). 1 found, 0 no
 * such product, -1 database error (message in errbuf). */
int demo_store_get_product(demo_store_t *s, const char *id, unsigned delay_ms, demo_product_t *out,
                           char *errbuf, size_t errlen);

/* "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
 * traced. 1 reserved, 0 not enough stock (or no product), -1 error. */
int demo_store_reserve(demo_store_t *s, const char *id, int64_t qty, char *errbuf, size_t errlen);

/* db.system.name of the store: "sqlite" or "postgresql". */
const char *demo_store_system(const demo_store_t *s);

#endif
