//! The HTTP/1.1 response of a stream, read from raw bytes (httparse for the head and the chunk sizes): its status
//! and content type, then the body as the server framed it: chunked (hyper, axum), `Content-Length`, or until the
//! connection closes (the floor server). Sans-I/O: the caller feeds what each `recvmsg` read, so every byte of the
//! body stays tied to the read, and the kernel timestamp, it came with.

/// The most response-head bytes accepted.
const MAX_HEAD: usize = 16 * 1024;

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Transfer-Encoding: chunked`: where in the chunk stream we are.
    Chunked(Chunk),
    /// `Content-Length`: bytes left.
    Length(u64),
    /// Everything until the connection closes.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    Crlf,
    /// After the last chunk.
    Done,
}

/// A stream's response as it arrives.
#[derive(Debug)]
pub struct Response {
    /// Bytes not decoded yet: the head until it is complete, then a partial chunk-size line or CRLF.
    pending: Vec<u8>,
    /// `None` until the head is complete.
    framing: Option<Framing>,
}

/// What one read gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The head is not complete yet.
    Head,
    /// The head was `200 text/event-stream` (now or before); body bytes may follow in the output.
    Body,
    /// The body is over (the last chunk, or all `Content-Length` bytes).
    End,
}

impl Default for Response {
    fn default() -> Self {
        Self::new()
    }
}

impl Response {
    /// A response of which nothing has arrived.
    pub fn new() -> Self {
        Self { pending: Vec::new(), framing: None }
    }

    /// Feeds `input` (the next bytes of the connection) and appends the body bytes it completes to `body`. An
    /// error says why the response is not a stream (another status or content type, a malformed head or chunk).
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<Progress, String> {
        let Some(mut framing) = self.framing else {
            self.pending.extend_from_slice(input);
            let Some((framing, length)) = parse_head(&self.pending)? else {
                return if self.pending.len() > MAX_HEAD {
                    Err("response head too large".to_owned())
                } else {
                    Ok(Progress::Head)
                };
            };
            self.framing = Some(framing);
            let rest = self.pending.split_off(length);
            self.pending.clear();
            return self.feed(&rest, body);
        };
        let progress = match &mut framing {
            Framing::Close => {
                body.extend_from_slice(input);
                Progress::Body
            }
            Framing::Length(left) => {
                let take = input.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                body.extend_from_slice(&input[..take]);
                *left -= take as u64;
                if *left == 0 {
                    Progress::End
                } else {
                    Progress::Body
                }
            }
            Framing::Chunked(chunk) => {
                let mut joined = std::mem::take(&mut self.pending);
                let input = if joined.is_empty() {
                    input
                } else {
                    joined.extend_from_slice(input);
                    &joined[..]
                };
                let rest = dechunk(chunk, input, body)?;
                self.pending.extend_from_slice(rest);
                if *chunk == Chunk::Done {
                    Progress::End
                } else {
                    Progress::Body
                }
            }
        };
        self.framing = Some(framing);
        Ok(progress)
    }
}

/// Decodes chunks from `input` into `body` and returns what is left over (a partial size line or CRLF).
fn dechunk<'a>(chunk: &mut Chunk, mut input: &'a [u8], body: &mut Vec<u8>) -> Result<&'a [u8], String> {
    loop {
        match *chunk {
            Chunk::Done => return Ok(&[]),
            Chunk::Size => match httparse::parse_chunk_size(input) {
                Ok(httparse::Status::Complete((length, 0))) => {
                    input = &input[length..];
                    *chunk = Chunk::Done;
                }
                Ok(httparse::Status::Complete((length, size))) => {
                    input = &input[length..];
                    *chunk = Chunk::Data(size);
                }
                Ok(httparse::Status::Partial) => return Ok(input),
                Err(_) => return Err("malformed chunk size".to_owned()),
            },
            Chunk::Data(left) => {
                if input.is_empty() {
                    return Ok(input);
                }
                let take = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                body.extend_from_slice(&input[..take]);
                input = &input[take..];
                *chunk = if left == take as u64 { Chunk::Crlf } else { Chunk::Data(left - take as u64) };
            }
            Chunk::Crlf => {
                if input.len() < 2 {
                    return Ok(input);
                }
                if &input[..2] != b"\r\n" {
                    return Err("a chunk does not end with CRLF".to_owned());
                }
                input = &input[2..];
                *chunk = Chunk::Size;
            }
        }
    }
}

/// The head at the start of `bytes`: `None` while incomplete, else the body's framing and the head's length.
fn parse_head(bytes: &[u8]) -> Result<Option<(Framing, usize)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let length = match response.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(format!("malformed response head: {error}")),
    };
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let status = response.code.unwrap_or_default();
    let content_type = header("content-type").unwrap_or_default();
    if status != 200 || !content_type.starts_with("text/event-stream") {
        return Err(format!("answered {status} with content type {content_type:?}"));
    }
    let framing = if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        Framing::Chunked(Chunk::Size)
    } else if let Some(length) = header("content-length") {
        Framing::Length(length.trim().parse().map_err(|_| format!("malformed Content-Length {length:?}"))?)
    } else {
        Framing::Close
    };
    Ok(Some((framing, length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `parts` one by one; returns the body and the last progress.
    fn feed_all(parts: &[&[u8]]) -> Result<(Vec<u8>, Progress), String> {
        let (mut response, mut body) = (Response::new(), Vec::new());
        let mut last = Progress::Head;
        for part in parts {
            last = response.feed(part, &mut body)?;
        }
        Ok((body, last))
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n\
        9\r\ndata: a\n\n\r\nA\r\ndata: bc\n\n\r\n0\r\n\r\n";

    #[test]
    fn a_chunked_body_decodes_however_it_is_split() {
        let whole = feed_all(&[CHUNKED]).unwrap();
        assert_eq!(whole, (b"data: a\n\ndata: bc\n\n".to_vec(), Progress::End));
        // Every split point, and one byte at a time.
        for at in 1..CHUNKED.len() {
            assert_eq!(feed_all(&[&CHUNKED[..at], &CHUNKED[at..]]).unwrap(), whole, "split at {at}");
        }
        let bytes: Vec<&[u8]> = CHUNKED.chunks(1).collect();
        assert_eq!(feed_all(&bytes).unwrap(), whole);
    }

    #[test]
    fn close_delimited_and_sized_bodies_decode() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: x\n\n";
        assert_eq!(
            feed_all(&[&head[..20], &head[20..], b"more"]).unwrap(),
            (b"data: x\n\nmore".to_vec(), Progress::Body)
        );
        let sized = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 4\r\n\r\nab";
        assert_eq!(feed_all(&[sized, b"cdef"]).unwrap(), (b"abcd".to_vec(), Progress::End));
    }

    #[test]
    fn another_answer_or_garbage_is_an_error() {
        let not_found = b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n\r\nno";
        assert!(feed_all(&[not_found]).unwrap_err().contains("404"));
        assert!(feed_all(&[b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\r\n"]).unwrap_err().contains("text/html"));
        assert!(feed_all(&[b"SPDY 200\r\n\r\n"]).is_err());
        let bad_chunk =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n";
        assert!(feed_all(&[bad_chunk]).unwrap_err().contains("chunk"));
        let no_crlf =
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n1\r\nabc";
        assert!(feed_all(&[no_crlf]).unwrap_err().contains("CRLF"));
        assert_eq!(feed_all(&[b"HTTP/1.1 200 OK\r\n"]).unwrap().1, Progress::Head);
        assert!(feed_all(&[&[b'x'; 0][..], &vec![b'a'; MAX_HEAD + 10]]).is_err());
    }
}
