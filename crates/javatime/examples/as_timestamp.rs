//! Evaluates AS_TIMESTAMP for tab-separated lines on stdin:
//! `value<TAB>pattern<TAB>timezone<TAB>locale<TAB>roundDownTo`, with `\N` for an absent
//! argument. Prints each line, `=>`, and the epoch milliseconds or `ERR<TAB>message`; the
//! same format as `tools/Oracle.java`, so outputs can be compared with java.time.

use std::io::{self, BufRead, Write};

fn main() -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('\t').collect();
        let arg = |i: usize| parts.get(i).copied().filter(|s| *s != "\\N");
        let result = sifr_javatime::as_timestamp(
            arg(0).unwrap_or(""),
            arg(1).unwrap_or(""),
            arg(2),
            arg(3),
            arg(4),
        );
        match result {
            Ok(ms) => writeln!(out, "{line}\t=>\t{ms}")?,
            Err(e) => writeln!(out, "{line}\t=>\tERR\t{e}")?,
        }
    }
    Ok(())
}
