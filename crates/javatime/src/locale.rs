//! Locales: `Locale.forLanguageTag` parsing, the bundled JDK text data and week definitions.

use crate::data;
use crate::field::WeekDef;

/// Texts in the order java.time tries them when parsing (longest first).
pub(crate) type TextList = &'static [(&'static str, u8)];

/// Text styles in `TextStyle` order: FULL, FULL_STANDALONE, SHORT, SHORT_STANDALONE,
/// NARROW, NARROW_STANDALONE. `None` means the JDK has no text and parses a number.
pub(crate) struct LocaleTexts {
    pub month: [Option<TextList>; 6],
    pub day_of_week: [Option<TextList>; 6],
    pub quarter: [Option<TextList>; 6],
    /// FULL, SHORT, NARROW.
    pub era: [Option<TextList>; 3],
    /// SHORT.
    pub am_pm: Option<TextList>,
}

const BUNDLED_LANGUAGES: &str = "de, en, es, fr, it, nl, pt";

/// A parsed BCP-47 locale with what the formatter needs from it.
#[derive(Clone, Debug)]
pub(crate) struct Locale {
    tag: String,
    language: String,
    region: String,
    pub week: WeekDef,
}

impl Locale {
    /// `Locale.forLanguageTag`: well-formed leading subtags are kept, the rest ignored.
    pub fn from_tag(tag: &str) -> Locale {
        let mut language = String::new();
        let mut region = String::new();
        let mut first_day = None;
        let mut rg_region = None;
        let mut subtags = tag.split('-').peekable();
        if let Some(lang) = subtags.peek().copied()
            && (2..=8).contains(&lang.len())
            && lang.bytes().all(|b| b.is_ascii_alphabetic())
        {
            language = lang.to_ascii_lowercase();
            subtags.next();
            if language == "und" {
                language.clear();
            }
            let mut extlangs = 0;
            while extlangs < 3
                && let Some(s) = subtags.peek()
                && s.len() == 3
                && s.bytes().all(|b| b.is_ascii_alphabetic())
            {
                subtags.next();
                extlangs += 1;
            }
            if let Some(s) = subtags.peek()
                && s.len() == 4
                && s.bytes().all(|b| b.is_ascii_alphabetic())
            {
                subtags.next();
            }
            if let Some(s) = subtags.peek()
                && ((s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
                    || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())))
            {
                region = s.to_ascii_uppercase();
                subtags.next();
            }
            while let Some(s) = subtags.peek()
                && is_variant(s)
            {
                subtags.next();
            }
            // Unicode extension keywords that change the week definition.
            while let Some(s) = subtags.next() {
                if s.len() != 1 || s.eq_ignore_ascii_case("x") {
                    break;
                }
                let unicode = s.eq_ignore_ascii_case("u");
                let mut key: Option<String> = None;
                while let Some(v) = subtags.peek().copied() {
                    if v.len() < 2 || v.len() > 8 || !v.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        break;
                    }
                    subtags.next();
                    if !unicode {
                        continue;
                    }
                    if v.len() == 2 {
                        key = Some(v.to_ascii_lowercase());
                    } else if let Some(k) = key.take() {
                        let v = v.to_ascii_lowercase();
                        match k.as_str() {
                            "fw" => first_day = day_from_keyword(&v),
                            "rg" if v.len() == 6 && v.ends_with("zzzz") => {
                                rg_region = Some(v[..2].to_ascii_uppercase());
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        let week_region = rg_region.as_deref().unwrap_or(&region);
        let mut week = week_of_region(week_region);
        if let Some(day) = first_day {
            week.first_day = day;
        }
        Locale {
            tag: tag.to_string(),
            language,
            region,
            week,
        }
    }

    /// Month, day, quarter, era and AM/PM texts. Languages the JDK has no data for use the root
    /// locale's texts, as the JDK does; JDK languages outside the bundled set are an error.
    pub fn texts(&self) -> Result<&'static LocaleTexts, String> {
        let lookup = |tag: &str| {
            data::TEXT_LOCALES
                .binary_search_by(|(t, _)| (*t).cmp(tag))
                .ok()
                .map(|i| &data::TEXTS[usize::from(data::TEXT_LOCALES[i].1)])
        };
        if !self.region.is_empty()
            && let Some(t) = lookup(&format!("{}-{}", self.language, self.region))
        {
            return Ok(t);
        }
        if let Some(t) = lookup(&self.language) {
            return Ok(t);
        }
        if data::JDK_LANGUAGES
            .binary_search(&self.language.as_str())
            .is_ok()
        {
            return Err(format!(
                "Locale '{}' is not supported for month, day-of-week, quarter, era or AM/PM \
                 text (supported languages: {BUNDLED_LANGUAGES})",
                self.tag
            ));
        }
        lookup("").ok_or_else(|| "missing root locale data".to_string())
    }

    /// The localized "GMT" that starts `O`/`ZZZZ` offsets.
    pub fn gmt_text(&self) -> &'static str {
        let lookup = |tag: &str| {
            data::GMT_TEXTS
                .binary_search_by(|(t, _)| (*t).cmp(tag))
                .ok()
                .map(|i| data::GMT_TEXTS[i].1)
        };
        let regional = if self.region.is_empty() {
            None
        } else {
            lookup(&format!("{}-{}", self.language, self.region))
        };
        regional.or_else(|| lookup(&self.language)).unwrap_or("GMT")
    }

    /// Index of the zone-name set in `data::ZONE_NAME_SETS` for `z` (short) or `zzzz` (full).
    pub fn zone_name_set(&self, full: bool) -> Result<usize, String> {
        let lookup = |tag: &str| {
            data::ZONE_NAME_LOCALES
                .binary_search_by(|(t, _, _)| (*t).cmp(tag))
                .ok()
                .map(|i| data::ZONE_NAME_LOCALES[i])
        };
        let found = if self.region.is_empty() {
            None
        } else {
            lookup(&format!("{}-{}", self.language, self.region))
        };
        let found = found.or_else(|| lookup(&self.language)).or_else(|| {
            // Languages without JDK data use the root locale's names.
            let known = data::JDK_LANGUAGES
                .binary_search(&self.language.as_str())
                .is_ok();
            if known { None } else { lookup("") }
        });
        match found {
            Some((_, short, long)) => Ok(usize::from(if full { long } else { short })),
            None => Err(format!(
                "Locale '{}' is not supported for time-zone names (supported languages: \
                 {BUNDLED_LANGUAGES})",
                self.tag
            )),
        }
    }
}

fn is_variant(s: &str) -> bool {
    let alnum = s.bytes().all(|b| b.is_ascii_alphanumeric());
    alnum && ((5..=8).contains(&s.len()) || (s.len() == 4 && s.as_bytes()[0].is_ascii_digit()))
}

fn day_from_keyword(v: &str) -> Option<u8> {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    days.iter().position(|d| *d == v).map(|i| i as u8 + 1)
}

/// CLDR week data as the JDK applies it: no region means Sunday/1, an unlisted region the
/// world default Monday/1.
fn week_of_region(region: &str) -> WeekDef {
    if region.is_empty() {
        return WeekDef {
            first_day: 7,
            minimal_days: 1,
        };
    }
    match data::WEEK_DATA.binary_search_by(|(r, _, _)| (*r).cmp(region)) {
        Ok(i) => {
            let (_, first_day, minimal_days) = data::WEEK_DATA[i];
            WeekDef {
                first_day,
                minimal_days,
            }
        }
        Err(_) => WeekDef {
            first_day: 1,
            minimal_days: 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(tag: &str) -> (u8, u8) {
        let w = Locale::from_tag(tag).week;
        (w.first_day, w.minimal_days)
    }

    #[test]
    fn week_definitions_follow_the_region() {
        assert_eq!(week("en-US"), (7, 1));
        assert_eq!(week("en"), (7, 1));
        assert_eq!(week("fr"), (7, 1));
        assert_eq!(week("en-GB"), (1, 4));
        assert_eq!(week("fr-FR"), (1, 4));
        assert_eq!(week("de-DE"), (1, 4));
        assert_eq!(week("en-XX"), (1, 1));
        assert_eq!(week("en-us"), (7, 1));
        assert_eq!(week("en-US-u-fw-mon"), (1, 1));
        assert_eq!(week("en-US-u-rg-gbzzzz"), (1, 4));
        assert_eq!(week("en_GB"), (7, 1));
    }

    #[test]
    fn texts_fall_back_like_the_jdk() {
        let short_months = |tag: &str| {
            let t = Locale::from_tag(tag).texts().unwrap();
            t.month[2].unwrap().iter().find(|(_, v)| *v == 9).unwrap().0
        };
        assert_eq!(short_months("en-US"), "Sep");
        assert_eq!(short_months("en-GB"), "Sept");
        assert_eq!(short_months("fr"), "sept.");
        assert_eq!(short_months("fr-LU"), "sept.");
        assert_eq!(short_months("xx"), "Sep");
        assert_eq!(short_months(""), "Sep");
        assert!(Locale::from_tag("ja").texts().is_err());
    }
}
