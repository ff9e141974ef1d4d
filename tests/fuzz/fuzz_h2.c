/* libFuzzer target for the HTTP/2 session: the HTTP/1.1 target's driver with an
 * HTTP/2 session (and, for most inputs, the client preface sent first). */
#define FUZZ_H2 1
#include "fuzz_h1.c"
