//! Checks an /instances body and says which field is wrong. Pure.

use pipeline::element::ElementKey;
use pipeline::instances::keys;
use schemas::AuthenticationType;
use serde_json::{Map, Value};

use super::error::ApiError;

/// A validated `POST /instances` body.
#[derive(Debug)]
pub struct NewInstance {
    pub element: ElementKey,
    pub name: String,
    pub tags: Vec<String>,
    pub configuration: Map<String, Value>,
    pub authentication: AuthenticationType,
    /// `providerData.code`: the OAuth authorization code to exchange.
    pub code: Option<String>,
}

pub fn new_instance(body: &Value) -> Result<NewInstance, ApiError> {
    let body = body
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))?;
    let element_key = body
        .get("element")
        .and_then(|element| element.get("key"))
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("element.key", "is required"))?;
    let element = ElementKey::parse(element_key).ok_or_else(|| {
        ApiError::invalid(
            "element.key",
            format!("`{element_key}` is not a known element"),
        )
    })?;
    let configuration = body
        .get("configuration")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| ApiError::invalid("configuration", "must be an object"))?;
    check_configuration(&configuration)?;
    let authentication = match configuration.get(keys::AUTHENTICATION_TYPE) {
        None => AuthenticationType::OAuth2,
        Some(Value::String(kind)) if kind == "oauth2" => AuthenticationType::OAuth2,
        Some(Value::String(kind)) if kind == "apiKey" => AuthenticationType::ApiKey,
        Some(_) => {
            return Err(ApiError::invalid(
                config_field(keys::AUTHENTICATION_TYPE),
                "must be `oauth2` or `apiKey`",
            ));
        }
    };
    let code = body
        .get("providerData")
        .and_then(|data| data.get("code"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match authentication {
        AuthenticationType::OAuth2 => {
            if code.is_none() {
                return Err(ApiError::invalid(
                    "providerData.code",
                    "is required for oauth2",
                ));
            }
            require_string(&configuration, keys::APP_KEY)?;
            require_string(&configuration, keys::APP_SECRET)?;
        }
        AuthenticationType::ApiKey => require_string(&configuration, keys::USER_TOKEN)?,
    }
    Ok(NewInstance {
        element,
        name: optional_string(body, "name")?.unwrap_or_default(),
        tags: tags(body)?,
        configuration,
        authentication,
        code,
    })
}

/// Types and values of the configuration keys the pipeline reads; other keys are kept as given.
pub fn check_configuration(configuration: &Map<String, Value>) -> Result<(), ApiError> {
    let enabled = match configuration.get(keys::EVENTS_ENABLED) {
        None => false,
        Some(Value::Bool(enabled)) => *enabled,
        Some(_) => {
            return Err(ApiError::invalid(
                config_field(keys::EVENTS_ENABLED),
                "must be a boolean",
            ));
        }
    };
    for key in keys::SECRET_KEYS
        .into_iter()
        .chain([keys::APP_KEY, keys::CALLBACK_URL])
    {
        if let Some(value) = configuration.get(key)
            && !value.is_string()
        {
            return Err(ApiError::invalid(config_field(key), "must be a string"));
        }
    }
    let callback = configuration
        .get(keys::CALLBACK_URL)
        .and_then(Value::as_str);
    match callback {
        Some(url) => check_callback_url(url)?,
        None if enabled => {
            return Err(ApiError::invalid(
                config_field(keys::CALLBACK_URL),
                "is required when events are enabled",
            ));
        }
        None => {}
    }
    Ok(())
}

fn check_callback_url(url: &str) -> Result<(), ApiError> {
    let invalid = |message: &str| ApiError::invalid(config_field(keys::CALLBACK_URL), message);
    let parsed = url::Url::parse(url).map_err(|_| invalid("must be an absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid("must be an http(s) URL with a host"));
    }
    Ok(())
}

pub fn config_field(key: &str) -> String {
    format!("configuration.{key}")
}

fn require_string(configuration: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    match configuration.get(key).and_then(Value::as_str) {
        Some(value) if !value.is_empty() => Ok(()),
        _ => Err(ApiError::invalid(config_field(key), "is required")),
    }
}

pub fn optional_string(
    body: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::invalid(field, "must be a string")),
    }
}

pub fn tags(body: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let Some(tags) = body.get("tags") else {
        return Ok(Vec::new());
    };
    tags.as_array()
        .and_then(|tags| {
            tags.iter()
                .map(|tag| tag.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| ApiError::invalid("tags", "must be an array of strings"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn documented_body() -> Value {
        json!({"element": {"key": "dropboxbusiness"}, "providerData": {"code": "CODE"},
            "configuration": {"oauth.api.key": "id", "oauth.api.secret": "secret",
              "oauth.callback.url": "https://www.mycoolapp.com/auth", "authentication.type": "oauth2",
              "event.notification.enabled": true, "event.notification.callback.url": "https://example.com/hook",
              "event.notification.signature.key": "KEY", "custom.key": 5},
            "tags": ["TAG"], "name": "NAME"})
    }

    fn field_of(body: Value) -> String {
        match new_instance(&body) {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_body_is_valid_and_keeps_unknown_keys() {
        let instance = new_instance(&documented_body()).unwrap();
        assert_eq!(instance.element, ElementKey::DropboxBusiness);
        assert_eq!(instance.code.as_deref(), Some("CODE"));
        assert_eq!(instance.tags, ["TAG"]);
        assert_eq!(instance.configuration["custom.key"], 5);
    }

    #[test]
    fn errors_name_the_field() {
        let mut body = documented_body();
        body["element"]["key"] = json!("box");
        assert_eq!(field_of(body), "element.key");

        let mut body = documented_body();
        body["configuration"]["event.notification.enabled"] = json!("yes");
        assert_eq!(field_of(body), "configuration.event.notification.enabled");

        let mut body = documented_body();
        body["configuration"]["event.notification.callback.url"] = json!("/relative");
        assert_eq!(
            field_of(body),
            "configuration.event.notification.callback.url"
        );

        let mut body = documented_body();
        body["configuration"]["event.notification.callback.url"] = json!("ftp://example.com/x");
        assert_eq!(
            field_of(body),
            "configuration.event.notification.callback.url"
        );

        let mut body = documented_body();
        body.as_object_mut().unwrap().remove("providerData");
        assert_eq!(field_of(body), "providerData.code");

        let mut body = documented_body();
        body["tags"] = json!([1]);
        assert_eq!(field_of(body), "tags");
    }

    #[test]
    fn events_enabled_needs_a_callback_url() {
        let mut body = documented_body();
        body["configuration"]
            .as_object_mut()
            .unwrap()
            .remove("event.notification.callback.url");
        assert_eq!(
            field_of(body),
            "configuration.event.notification.callback.url"
        );
    }
}
