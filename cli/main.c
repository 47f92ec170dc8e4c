/* main.c — placeholder CLI entry; being written. */
#include <stdio.h>

#include "kaiwu/kaiwu.h"

int main(void) {
    printf("kaiwu %s (%s)\n", kw_version(), kw_cpu_isa());
    return 0;
}
