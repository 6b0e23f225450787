import java.io.*;
import java.nio.charset.StandardCharsets;
import java.time.*;
import java.time.format.*;
import java.time.temporal.*;
import java.util.*;

/*
 * AS_TIMESTAMP (calculator spec 8.11) evaluated with the JDK's java.time, for comparison with
 * this crate. Reads tab-separated lines `value pattern timezone locale roundDownTo` on stdin
 * (`\N` = absent argument) and prints each line, `=>`, and the epoch milliseconds or
 * `ERR<TAB>message`, the same format as `cargo run --example as_timestamp`:
 *
 *   javac -d /tmp/oracle tools/Oracle.java
 *   java -cp /tmp/oracle Oracle < cases.tsv > java.out
 *   cargo run -q --release --example as_timestamp < cases.tsv > rust.out
 *   diff java.out rust.out
 *
 * Field lists in "Unable to obtain ..." messages are printed in hash order by the JDK.
 */
public class Oracle {
  static String run(String value, String pattern, String tz, String loc, String round) {
    try {
      Locale locale = loc != null ? Locale.forLanguageTag(loc) : Locale.US;
      ZoneId zoneId = tz != null ? ZoneId.of(tz) : ZoneOffset.UTC;
      DateTimeFormatter f = DateTimeFormatter.ofPattern(pattern, locale);
      ZonedDateTime dt;
      if (List.of("H","k","K","h","m","s","S").stream().anyMatch(pattern::contains)) {
        if (List.of("X","x","Z","z").stream().anyMatch(pattern::contains) && tz == null) dt = ZonedDateTime.parse(value, f);
        else dt = LocalDateTime.parse(value, f).atZone(zoneId);
      } else {
        dt = ZonedDateTime.of(LocalDate.parse(value, f), LocalTime.MIN, zoneId);
      }
      if (round != null) {
        LocalDateTime l;
        switch (round) {
          case "day": l = dt.toLocalDate().atStartOfDay(); break;
          case "week": l = dt.toLocalDate().atStartOfDay().with(WeekFields.of(locale).dayOfWeek(), 1); break;
          case "quarter": l = LocalDate.of(dt.getYear(), ((dt.getMonthValue()-1)/3)*3+1, 1).atStartOfDay(); break;
          case "month": l = dt.toLocalDate().withDayOfMonth(1).atStartOfDay(); break;
          case "year": l = dt.toLocalDate().withDayOfYear(1).atStartOfDay(); break;
          default: throw new IllegalStateException("Unexpected value: " + round);
        }
        return Long.toString(l.toEpochSecond(dt.getOffset()) * 1000);
      }
      return Long.toString(dt.toEpochSecond() * 1000);
    } catch (Exception e) {
      return "ERR\t" + e.getMessage();
    }
  }
  static String nz(String s) { return s.equals("\\N") ? null : s; }
  public static void main(String[] a) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(System.out, true, "UTF-8");
    String line;
    while ((line = r.readLine()) != null) {
      if (line.isEmpty()) continue;
      String[] p = line.split("\t", -1);
      out.println(line + "\t=>\t" + run(p[0], p[1], nz(p[2]), nz(p[3]), nz(p[4])));
    }
  }
}
