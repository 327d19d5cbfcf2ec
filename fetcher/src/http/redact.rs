//! Removing credentials from URLs before they are logged, put in errors,
//! metrics or record headers.

use reqwest::Url;

/// Query parameters whose values are always hidden.
const SECRET_PARAMS: [&str; 9] = [
    "api_key",
    "apikey",
    "key",
    "token",
    "access_token",
    "secret",
    "password",
    "signature",
    "sig",
];

/// `url` with user info removed and secret query values replaced by `***`;
/// `also_secret` names further parameters (e.g. a configured API key param).
pub fn url(url: &Url, also_secret: Option<&str>) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    if clean.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = SECRET_PARAMS.contains(&lower.as_str())
                    || also_secret.is_some_and(|s| s.eq_ignore_ascii_case(&k));
                (
                    k.into_owned(),
                    if secret {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        clean.query_pairs_mut().clear().extend_pairs(pairs);
    }
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_secret_params_are_hidden() {
        let raw = Url::parse("https://user:pw@api.example.com/v1/t?api_key=abc&x-key=def&limit=5")
            .unwrap();
        let clean = url(&raw, Some("X-Key"));
        assert_eq!(
            clean,
            "https://api.example.com/v1/t?api_key=***&x-key=***&limit=5"
        );
    }
}
