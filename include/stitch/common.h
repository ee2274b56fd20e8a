/* stitch/common.h — what every part of the libstitch API shares: version,
 * visibility and warning macros, error codes, and typed attribute values.
 *
 * Ownership rule for the whole API: a `const char *` or array handed *in*
 * is copied before the call returns unless the function's comment says
 * otherwise; a pointer handed *out* is owned by the object it came from and
 * lives as long as that object, unless the comment says otherwise. */
#ifndef STITCH_COMMON_H
#define STITCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STITCH_VERSION_MAJOR 0
#define STITCH_VERSION_MINOR 1
#define STITCH_VERSION_PATCH 0
#define STITCH_VERSION_STRING "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define STITCH_EXTERN __attribute__((visibility("default")))
#define STITCH_NODISCARD __attribute__((warn_unused_result))
#else
#define STITCH_EXTERN
#define STITCH_NODISCARD
#endif

/* Error codes: 0 is success, failures are negative. The numbers never
 * change; a retired code keeps its number forever. */
enum {
    STITCH_OK = 0,
    STITCH_EINVAL = -1,     /* an argument or input is malformed */
    STITCH_ENOMEM = -2,     /* an allocation failed; nothing was changed */
    STITCH_ELIMIT = -3,     /* a configured limit was hit; the excess is dropped and counted */
    STITCH_ENOTFOUND = -4,  /* nothing to return (e.g. no context in a carrier) */
    STITCH_ESTATE = -5,     /* the object is in the wrong state (ended span, shut-down provider) */
    STITCH_ETIMEDOUT = -6,  /* an operation did not finish within its timeout */
    STITCH_EPARSE = -7,     /* text could not be parsed (see the call's error message) */
    STITCH_EIO = -8,        /* an I/O or network operation failed */
    STITCH_ERANGE = -9,     /* a number is out of its allowed range */
};

/* A short, static English text for an error code; never NULL. */
STITCH_EXTERN const char *stitch_strerror(int err);

/* The library's version string, e.g. "0.1.0". */
STITCH_EXTERN const char *stitch_version(void);

/* ---- typed values ------------------------------------------------------ */

typedef enum stitch_value_type {
    STITCH_VALUE_NONE = 0,
    STITCH_VALUE_STRING = 1,
    STITCH_VALUE_BOOL = 2,
    STITCH_VALUE_INT = 3,
    STITCH_VALUE_DOUBLE = 4,
    STITCH_VALUE_STRING_ARRAY = 5,
    STITCH_VALUE_BOOL_ARRAY = 6,
    STITCH_VALUE_INT_ARRAY = 7,
    STITCH_VALUE_DOUBLE_ARRAY = 8,
} stitch_value_type_t;

/* A string with its length in bytes; `ptr` need not be NUL-terminated on
 * input. Strings the SDK stores are always NUL-terminated as well. */
typedef struct stitch_str {
    const char *ptr;
    size_t len;
} stitch_str_t;

/* A typed value. `len` is the string's byte length for STRING and the
 * element count for arrays; it is unused for scalars. */
typedef struct stitch_value {
    stitch_value_type_t type;
    uint32_t len;
    union {
        const char *str;
        bool b;
        int64_t i;
        double d;
        const stitch_str_t *strs;
        const bool *bools;
        const int64_t *ints;
        const double *doubles;
    } u;
} stitch_value_t;

/* An attribute: a NUL-terminated key and a value. */
typedef struct stitch_attr {
    const char *key;
    stitch_value_t value;
} stitch_attr_t;

/* Constructors for attribute lists, e.g.
 *   stitch_attr_t a[] = { stitch_attr_str("user.id", "42"),
 *                         stitch_attr_int("cart.items", 3) }; */
static inline stitch_attr_t stitch_attr_str(const char *key, const char *val)
{
    stitch_attr_t a = {key, {STITCH_VALUE_STRING, (uint32_t)strlen(val), {.str = val}}};
    return a;
}
static inline stitch_attr_t stitch_attr_strn(const char *key, const char *val, size_t len)
{
    stitch_attr_t a = {key, {STITCH_VALUE_STRING, (uint32_t)len, {.str = val}}};
    return a;
}
static inline stitch_attr_t stitch_attr_int(const char *key, int64_t v)
{
    stitch_attr_t a = {key, {STITCH_VALUE_INT, 0, {.i = v}}};
    return a;
}
static inline stitch_attr_t stitch_attr_double(const char *key, double v)
{
    stitch_attr_t a = {key, {STITCH_VALUE_DOUBLE, 0, {.d = v}}};
    return a;
}
static inline stitch_attr_t stitch_attr_bool(const char *key, bool v)
{
    stitch_attr_t a = {key, {STITCH_VALUE_BOOL, 0, {.b = v}}};
    return a;
}

#ifdef __cplusplus
}
#endif
#endif
