//! `impacts` pipelines: evaluated as data pipelines are (`result.csv`, errors); then, when no
//! row failed, each output row defines an activity of the impacts module (an emission factor
//! set) through the output keys (spec §2.3): `activity:name`, `activity:description`,
//! `activity:attribute:<k>`, `activity:tag:<k>`, `impact:<i>:name`, `impact:<i>:attribute:<k>`
//! and `impact:<i>:component:<c>:key|type|value`. The activity of that name in the execution's
//! group gets a new version with the row merged in; without one, it is created. Component
//! values are numbers, and a component whose value is empty or zero is left out, as SIF did;
//! other empty cells leave their field unset. Every row is checked before any is written.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Number, Value as JsonValue};
use sifr_domain::TagPatch;

use crate::auth::Caller;
use crate::calculations::dry_run::cell_text;
use crate::error::{ApiError, ApiResult};
use crate::impacts::{self, ActivityRequest, ImpactRequest};

/// Where the impacts module's messages put the fields of a row's activity.
const AT: &str = "outputs";

/// Creates or updates the activities the rows of a `result.csv` define; returns how many rows
/// were written.
pub(crate) async fn publish_file(caller: &Caller, result: &Path) -> ApiResult<usize> {
    let path = result.to_owned();
    let requests = tokio::task::spawn_blocking(move || read_file(&path))
        .await
        .map_err(|e| ApiError::Internal(format!("reading the results stopped: {e}")))??;
    write(caller, requests).await
}

/// Creates or updates the activities inline output rows define; returns how many.
pub(crate) async fn publish_rows(
    caller: &Caller,
    rows: &[Map<String, JsonValue>],
) -> ApiResult<usize> {
    let requests = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let cells = row
                .iter()
                .map(|(key, value)| (key.clone(), cell_text(value)));
            activity_of(i + 1, cells)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    write(caller, requests).await
}

fn read_file(path: &Path) -> ApiResult<Vec<(usize, ActivityRequest)>> {
    let unreadable = |e: csv::Error| ApiError::Internal(format!("the execution's results: {e}"));
    let mut reader = csv::Reader::from_path(path).map_err(unreadable)?;
    let headers = reader.headers().map_err(unreadable)?.clone();
    let mut requests = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(unreadable)?;
        let cells = headers
            .iter()
            .zip(record.iter())
            .map(|(key, text)| (key.to_owned(), text.to_owned()));
        requests.push(activity_of(i + 1, cells)?);
    }
    Ok(requests)
}

/// Checks every request, then writes them in row order.
async fn write(caller: &Caller, requests: Vec<(usize, ActivityRequest)>) -> ApiResult<usize> {
    for (row, request) in &requests {
        impacts::check(request, AT).map_err(|e| at_row(*row, request, &e))?;
    }
    let count = requests.len();
    for (row, request) in requests {
        let context = request.clone();
        impacts::create_or_update(caller, request, AT)
            .await
            .map_err(|e| at_row(row, &context, &e))?;
    }
    Ok(count)
}

/// An error about one row's activity, naming the row and the activity.
fn at_row(row: usize, request: &ActivityRequest, error: &ApiError) -> ApiError {
    let activity = request
        .name
        .as_deref()
        .map(|name| format!(" (activity '{name}')"))
        .unwrap_or_default();
    ApiError::BadRequest(format!("row {row}{activity}: {error}"))
}

/// The activity one output row defines; `cells` are (output key, text) pairs.
fn activity_of(
    row: usize,
    cells: impl IntoIterator<Item = (String, String)>,
) -> ApiResult<(usize, ActivityRequest)> {
    let mut request = ActivityRequest::default();
    let mut attributes = Map::new();
    let mut tags = BTreeMap::new();
    let mut impacts: BTreeMap<String, ImpactRequest> = BTreeMap::new();
    for (key, text) in cells {
        if text.is_empty() {
            continue;
        }
        let parts: Vec<&str> = key.split(':').collect();
        match parts.as_slice() {
            ["activity", "name"] => request.name = Some(text),
            ["activity", "description"] => request.description = Some(text),
            ["activity", "attribute", k] => {
                attributes.insert((*k).to_owned(), JsonValue::String(text));
            }
            ["activity", "tag", k] => {
                tags.insert((*k).to_owned(), Some(text));
            }
            ["impact", i, "name"] => impacts.entry((*i).to_owned()).or_default().name = Some(text),
            ["impact", i, "attribute", k] => {
                impacts
                    .entry((*i).to_owned())
                    .or_default()
                    .attributes
                    .get_or_insert_default()
                    .insert((*k).to_owned(), JsonValue::String(text));
            }
            ["impact", i, "component", c, part] => {
                let component = impacts
                    .entry((*i).to_owned())
                    .or_default()
                    .components
                    .get_or_insert_default()
                    .entry((*c).to_owned())
                    .or_default();
                match *part {
                    "key" => component.key = Some(text),
                    "type" => component.kind = Some(text),
                    "value" => {
                        component.value = component_value(&text).map_err(|problem| {
                            ApiError::BadRequest(format!(
                                "row {row}: impact '{i}' component '{c}': {problem}"
                            ))
                        })?;
                    }
                    _ => {}
                }
            }
            // The pipeline's validation admits no other output keys.
            _ => {}
        }
    }
    for impact in impacts.values_mut() {
        if let Some(components) = &mut impact.components {
            components.retain(|_, component| component.value.is_some());
        }
    }
    if !attributes.is_empty() {
        request.attributes = Some(attributes);
    }
    if !tags.is_empty() {
        request.tags = Some(
            TagPatch::parse(tags)
                .map_err(|e| ApiError::BadRequest(format!("row {row}: activity tags: {e}")))?,
        );
    }
    if !impacts.is_empty() {
        request.impacts = Some(impacts);
    }
    Ok((row, request))
}

/// A component's value: a number, `None` when zero (the component is left out).
fn component_value(text: &str) -> Result<Option<Number>, String> {
    let number: Number = text
        .parse()
        .map_err(|_| format!("value '{text}' is not a number"))?;
    let mantissa = text
        .trim_start_matches('-')
        .split(['e', 'E'])
        .next()
        .unwrap_or_default();
    Ok((!mantissa.chars().all(|c| c == '0' || c == '.')).then_some(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rows_become_activities_by_the_naming_convention() {
        let (row, request) = activity_of(
            4,
            cells(&[
                ("activity:name", "fuel:diesel"),
                ("activity:description", "Diesel, per litre"),
                ("activity:attribute:unit", "l"),
                ("activity:tag:source", "epa"),
                ("impact:CO2e:name", "CO2e"),
                ("impact:CO2e:attribute:scope", "1"),
                ("impact:CO2e:component:co2:key", "co2"),
                ("impact:CO2e:component:co2:type", "pollutant"),
                ("impact:CO2e:component:co2:value", "2.68000"),
                ("impact:CO2e:component:ch4:key", "ch4"),
                ("impact:CO2e:component:ch4:type", "pollutant"),
                ("impact:CO2e:component:ch4:value", "0.000"),
                ("impact:CO2e:component:n2o:key", "n2o"),
                ("impact:CO2e:component:n2o:type", "pollutant"),
                ("impact:CO2e:component:n2o:value", ""),
            ]),
        )
        .unwrap();
        assert_eq!(row, 4);
        assert_eq!(request.name.as_deref(), Some("fuel:diesel"));
        assert_eq!(request.description.as_deref(), Some("Diesel, per litre"));
        assert_eq!(
            request.attributes,
            Some(
                serde_json::json!({"unit": "l"})
                    .as_object()
                    .unwrap()
                    .clone()
            )
        );
        let patch = serde_json::to_value(request.tags.as_ref().unwrap()).unwrap();
        assert_eq!(patch, serde_json::json!({"source": "epa"}));
        let impact = &request.impacts.as_ref().unwrap()["CO2e"];
        assert_eq!(impact.name.as_deref(), Some("CO2e"));
        // Zero and empty values drop their components; values stay exactly as written.
        let components = impact.components.as_ref().unwrap();
        assert_eq!(components.keys().collect::<Vec<_>>(), vec!["co2"]);
        assert_eq!(
            components["co2"].value.as_ref().map(ToString::to_string),
            Some("2.68000".to_owned())
        );
        assert!(impacts::check(&request, AT).is_ok());
    }

    #[test]
    fn bad_values_and_incomplete_rows_name_the_row() {
        let error = activity_of(
            2,
            cells(&[
                ("activity:name", "a"),
                ("impact:x:name", "x"),
                ("impact:x:component:c:value", "lots"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "row 2: impact 'x' component 'c': value 'lots' is not a number"
        );
        let (row, request) = activity_of(
            7,
            cells(&[
                ("activity:name", "a"),
                ("impact:x:name", "x"),
                ("impact:x:component:c:key", "c"),
                ("impact:x:component:c:value", "1"),
            ]),
        )
        .unwrap();
        let problem = impacts::check(&request, AT).unwrap_err();
        let message = at_row(row, &request, &problem).to_string();
        assert!(
            message.starts_with("row 7 (activity 'a'): outputs/impacts/x/components/c"),
            "{message}"
        );
        assert!(message.contains("type"), "{message}");
    }

    #[test]
    fn zero_is_recognised_in_every_notation() {
        for zero in ["0", "-0", "0.000", "0e5", "-0.0E-3"] {
            assert_eq!(component_value(zero), Ok(None), "{zero}");
        }
        for value in ["1", "0.0001", "-3.5", "1e-400"] {
            assert!(matches!(component_value(value), Ok(Some(_))), "{value}");
        }
    }
}
