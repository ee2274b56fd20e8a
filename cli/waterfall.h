/* cli/waterfall.h — a trace drawn as a waterfall in the terminal: the span
 * tree indented, one bar per span on a time axis scaled to the width,
 * service and operation names, durations, errors marked. */
#ifndef STITCH_CLI_WATERFALL_H
#define STITCH_CLI_WATERFALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Draw one trace in the Jaeger v1 JSON shape ({traceID, spans, processes})
 * on `out`, `width` columns wide (clamped to 60..1000), with ANSI colours
 * when `color`. Names are printed with control characters replaced, so a
 * span name cannot drive the terminal. 0, or -1 with a reason in err when
 * the JSON is not a trace. */
int cli_waterfall_print(FILE *out, const json_t *trace, int width, bool color, char *err,
                        size_t errlen);

/* "850 µs", "12.3 ms", "1.52 s", "3.2 min" for a duration in µs. */
void cli_format_duration(double us, char *buf, size_t len);

/* Columns of the terminal on stdout; $COLUMNS or 120 when not a terminal. */
int cli_terminal_width(void);

#endif
