//! `GET /assets/{path}` (and `HEAD`) of `coregen serve --assets DIR`: the
//! files of DIR, such as the Fedora CoreOS live kernel, initramfs and
//! rootfs, for iPXE and coreos-installer. Served over plain HTTP and HTTPS
//! alike: nothing in them is secret.
//!
//! Byte ranges as RFC 9110 has them, one at a time: `bytes=A-B`, `bytes=A-`
//! and `bytes=-N` answer 206 with `Content-Range`, a range that starts past
//! the end 416 with `Content-Range: bytes */LEN`. A request for several
//! ranges gets the whole file (200), as the RFC allows, and so does one
//! with `If-Range` (no validators are sent, so none can match) or in a unit
//! other than bytes. Files are streamed in chunks from disk (a rootfs is
//! some 800 MB) with an exact `Content-Length`.
//!
//! The path is untrusted: every segment must be a name
//! [`crate::assets::check_path`] allows (no `..`, no absolute path, no NUL,
//! no hidden file or folder, no `.part` download in progress), and what it
//! resolves to, symlinks followed, must be a regular file inside DIR.
//! Anything else is 400 or 404 with the usual `{"error": ...}` body.
//!
//! Time: the routes' 30 s deadline bounds only the making of the answer
//! (resolving and opening the file), not the sending of its body, so a
//! long download is never cut by it; a client that stops reading is
//! closed by the connection loop's write-stall timeout instead.

use std::io::{self, Seek, SeekFrom};
use std::path::{Path as FsPath, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

use super::App;
use super::routes::ApiError;
use crate::assets::check_path;
use crate::inventory::Boot;

/// The size of the chunks a file is sent in.
const CHUNK: usize = 64 * 1024;

/// The `/assets/` route when `--assets` was given, and nothing otherwise
/// (so `/assets/...` is "no such endpoint" like any unknown path).
pub fn routes(app: &App) -> Router<&'static App> {
    match app.assets {
        Some(_) => Router::new().route("/assets/{*path}", get(asset)),
        None => Router::new(),
    }
}

/// One range of a file, first and last byte included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// The whole file (no range asked, or one this server answers whole).
    Full,
    Partial {
        first: u64,
        last: u64,
    },
    /// No byte of the range is in the file: 416.
    Unsatisfiable,
}

/// What `Range: value` asks of a file of `len` bytes (RFC 9110, 14.2).
/// A header that is not one well-formed byte range is ignored, as the RFC
/// says, and so are several ranges.
pub(crate) fn parse_range(value: Option<&str>, len: u64) -> Ranged {
    let Some(value) = value else {
        return Ranged::Full;
    };
    let Some((unit, spec)) = value.trim().split_once('=') else {
        return Ranged::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Ranged::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Full;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first, last) {
        ("", suffix) => match number(suffix) {
            None => Ranged::Full,
            Some(0) => Ranged::Unsatisfiable,
            Some(_) if len == 0 => Ranged::Unsatisfiable,
            Some(n) => Ranged::Partial {
                first: len - n.min(len),
                last: len - 1,
            },
        },
        (first, "") => match number(first) {
            None => Ranged::Full,
            Some(a) if a >= len => Ranged::Unsatisfiable,
            Some(a) => Ranged::Partial {
                first: a,
                last: len - 1,
            },
        },
        (first, last) => match (number(first), number(last)) {
            (Some(a), Some(b)) if a <= b => {
                if a >= len {
                    Ranged::Unsatisfiable
                } else {
                    Ranged::Partial {
                        first: a,
                        last: b.min(len - 1),
                    }
                }
            }
            _ => Ranged::Full,
        },
    }
}

async fn asset(
    State(app): State<&'static App>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(path) = path.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let rel = check_path(&path).map_err(|why| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("not an asset path: {why}"))
    })?;
    let root = app.assets.clone().expect("routed only with --assets");
    let stream = app.asset_streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::with_retry(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_STREAMS} downloads are under way; try again shortly"),
            Some(5),
        )
    })?;
    let (file, len) = tokio::task::spawn_blocking(move || open(&root, &rel))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "opening failed"))??;

    let range = if headers.contains_key(header::IF_RANGE) {
        Ranged::Full
    } else {
        parse_range(
            headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
            len,
        )
    };
    let (status, first, count) = match range {
        Ranged::Full => (StatusCode::OK, 0, len),
        Ranged::Partial { first, last } => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
        Ranged::Unsatisfiable => {
            let mut response = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("the range is outside the file ({len} bytes)"),
            )
            .into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("ASCII"),
            );
            return Ok(response);
        }
    };
    let file = tokio::task::spawn_blocking(move || {
        let mut file = file;
        file.seek(SeekFrom::Start(first)).map(|_| file)
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "seeking failed"))?
    .map_err(|e| {
        tracing::error!("cannot seek in an asset: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file")
    })?;
    let body = FileBody {
        file: tokio::fs::File::from_std(file),
        remaining: count,
        _stream: stream,
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT {
        let last = first + count - 1;
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {first}-{last}/{len}")).expect("ASCII"),
        );
    }
    Ok(response)
}

/// Opens `root/rel` when it is a regular file inside `root` (which is
/// canonical), symlinks resolved; its length.
fn open(root: &FsPath, rel: &FsPath) -> Result<(std::fs::File, u64), ApiError> {
    use std::os::unix::fs::OpenOptionsExt;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no such asset");
    let real = std::fs::canonicalize(root.join(rel)).map_err(|_| not_found())?;
    // Resolved, it must still be inside the folder, by names that are
    // allowed (a symlink to `.hidden` in the folder is refused too).
    let inside = real
        .strip_prefix(root)
        .ok()
        .and_then(|r| r.to_str())
        .is_some_and(|r| check_path(r).is_ok());
    if !inside {
        tracing::warn!(
            "refused an asset path that resolves outside the folder or to a hidden name: {}",
            crate::values::printable_long(&rel.display().to_string())
        );
        return Err(not_found());
    }
    // No symlink swapped in since, and no blocking on a FIFO: the type is
    // checked on what was opened.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&real)
        .map_err(|_| not_found())?;
    let meta = file.metadata().map_err(|_| not_found())?;
    if !meta.is_file() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no such asset (not a regular file)",
        ));
    }
    Ok((file, meta.len()))
}

/// `count` bytes of a file from where it stands, in chunks of [`CHUNK`],
/// with an exact size for `Content-Length`.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    /// One of [`MAX_STREAMS`], given back when the body is done or dropped.
    _stream: tokio::sync::OwnedSemaphorePermit,
}

/// Downloads served at once. Each holds buffers of a few hundred KiB and a
/// file read on the blocking pool, so clients reading a rootfs slowly on
/// thousands of connections must not all be served together; the rest are
/// told to come back.
pub const MAX_STREAMS: usize = 64;

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining).map_or(CHUNK, |r| r.min(CHUNK));
        let mut chunk = vec![0u8; want];
        let mut buf = ReadBuf::new(&mut chunk);
        ready!(Pin::new(&mut this.file).poll_read(cx, &mut buf))?;
        let n = buf.filled().len();
        if n == 0 {
            // The file got shorter since its length was sent: the
            // connection is closed rather than the answer cut short quietly.
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file got shorter while it was sent",
            ))));
        }
        chunk.truncate(n);
        this.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Warns, through `note`, of each `[boot]` image named by file name that
/// this server will not serve: without `--assets`, or missing from `dir`.
/// A warning, not an error: the files may be on their way (a `coregen
/// assets fetch` running), and serve has other work.
pub fn warn_of_missing(boot: Option<&Boot>, dir: Option<&FsPath>, note: fn(&str)) {
    let Some(boot) = boot else { return };
    for (key, url) in boot.images() {
        let Some(path) = boot.asset_path(url) else {
            continue;
        };
        match dir {
            None => note(&format!(
                "warning: [boot] {key} is the asset {path}, but this server runs without \
                 --assets, so it answers 404 for it"
            )),
            Some(dir) if !dir.join(path).is_file() => note(&format!(
                "warning: [boot] {key} is the asset {path}, which {} does not hold (yet?)",
                dir.display()
            )),
            Some(_) => {}
        }
    }
}

/// The folder `--assets` names, checked and made canonical at start. It
/// may hold neither the project nor `pki/`, nor be inside `pki/`: its
/// files are served to anyone, over plain HTTP too, and `pki/` holds the
/// CAs' keys.
pub fn resolve_dir(dir: &FsPath, project: &FsPath, pki: &FsPath) -> crate::Result<PathBuf> {
    let real = std::fs::canonicalize(dir)
        .map_err(|e| crate::Error::io(dir, "open the --assets folder", e))?;
    if !real.is_dir() {
        return Err(crate::Error::new(format!(
            "--assets {}: not a folder",
            dir.display()
        )));
    }
    for (what, path) in [("the project", project), ("the pki folder", pki)] {
        let Ok(path) = std::fs::canonicalize(path) else {
            continue;
        };
        if path.starts_with(&real) || real.starts_with(&path) && what == "the pki folder" {
            return Err(crate::Error::new(format!(
                "--assets {}: it would serve {what} ({}), CA keys included, to anyone; \
                 give a folder that holds only the boot images",
                dir.display(),
                path.display()
            )));
        }
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges() {
        let p = |first, last| Ranged::Partial { first, last };
        let r = |v: &str| parse_range(Some(v), 100);
        assert_eq!(parse_range(None, 100), Ranged::Full);
        assert_eq!(r("bytes=0-9"), p(0, 9));
        assert_eq!(r("bytes=10-"), p(10, 99));
        assert_eq!(r("bytes=-10"), p(90, 99));
        assert_eq!(r("bytes=-1000"), p(0, 99), "a suffix longer than the file");
        assert_eq!(r("bytes=90-1000"), p(90, 99), "the end is clamped");
        assert_eq!(r("bytes=99-99"), p(99, 99));
        assert_eq!(r("BYTES = 5-6"), p(5, 6));
    }

    #[test]
    fn unsatisfiable_ranges() {
        let r = |v: &str| parse_range(Some(v), 100);
        assert_eq!(r("bytes=100-"), Ranged::Unsatisfiable);
        assert_eq!(r("bytes=100-200"), Ranged::Unsatisfiable);
        assert_eq!(r("bytes=-0"), Ranged::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Ranged::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-5"), 0), Ranged::Unsatisfiable);
    }

    #[test]
    fn what_is_not_one_byte_range_gets_the_whole_file() {
        let r = |v: &str| parse_range(Some(v), 100);
        for ignored in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=+1-2",
            "bytes=1-2-3",
            "bytes",
            "",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(r(ignored), Ranged::Full, "{ignored:?}");
        }
    }
}
