/* cmdline.c — command-line grammar: whitespace-separated tokens; a token
 * without '=' names a workload, the key=value tokens after it are its
 * parameters. key=value tokens before the first workload (console=ttyS0, ...)
 * belong to someone else and are skipped. */
#include "cmdline.h"

#include "boot_info.h"
#include "serial.h"

static char buf[BOOT_CMDLINE_MAX];
static char *cursor;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Cuts the next token out of buf in place; NULL at the end. */
static char *next_token(void)
{
    while (*cursor && is_space(*cursor))
        cursor++;
    if (!*cursor)
        return 0;
    char *tok = cursor;
    while (*cursor && !is_space(*cursor))
        cursor++;
    if (*cursor)
        *cursor++ = 0;
    return tok;
}

static char *find_eq(char *s)
{
    for (; *s; s++)
        if (*s == '=')
            return s;
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* The token after the last parameter, i.e. the next workload's name. */
static char *pending;

void cmdline_begin(const char *cmdline)
{
    int n = 0;
    while (n < BOOT_CMDLINE_MAX - 1 && cmdline[n]) {
        buf[n] = cmdline[n];
        n++;
    }
    buf[n] = 0;
    cursor = buf;
    pending = 0;
}

bool cmdline_next(struct workload_args *out)
{
    char *tok = pending;
    pending = 0;
    while (!tok) {
        tok = next_token();
        if (!tok)
            return false;
        if (find_eq(tok))
            tok = 0; /* not ours: a parameter with no workload before it */
    }
    out->name = tok;
    out->count = 0;
    while ((tok = next_token())) {
        char *eq = find_eq(tok);
        if (!eq) {
            pending = tok;
            break;
        }
        if (out->count == CMDLINE_MAX_PARAMS) {
            serial_puts("TG error msg=too-many-params name=");
            serial_puts(out->name);
            serial_putc('\n');
            continue;
        }
        *eq = 0;
        out->key[out->count] = tok;
        out->value[out->count] = eq + 1;
        out->count++;
    }
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

bool arg_u64(const struct workload_args *a, const char *key, uint64_t *out)
{
    for (int i = a->count - 1; i >= 0; i--) { /* the last one given wins */
        if (!str_eq(a->key[i], key))
            continue;
        if (parse_u64(a->value[i], out))
            return true;
        serial_puts("TG error msg=bad-value name=");
        serial_puts(a->name);
        serial_puts(" key=");
        serial_puts(key);
        serial_putc('\n');
        return false;
    }
    return false;
}
