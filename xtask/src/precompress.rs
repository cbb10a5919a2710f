//! Precompression of the built client: a `.br` (brotli, quality 11) and a `.gz` (gzip, level 9) beside every text or
//! WebAssembly file in `dist/`, made once at build time so that the server only picks one by `Accept-Encoding`
//! (tower-http's `ServeDir::precompressed_br().precompressed_gzip()`), never compressing per request.
//!
//! A compressed file that is not smaller than its original is not written (and an old one is removed), so the
//! server then sends the original.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::Result;

/// The extensions worth compressing: text and WebAssembly (images and fonts are compressed already).
const COMPRESSIBLE: [&str; 10] = ["html", "js", "mjs", "css", "wasm", "svg", "json", "txt", "map", "xml"];

/// What [`precompress`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files looked at (compressible ones).
    pub files: usize,
    /// Their bytes.
    pub raw: u64,
    /// `.br` files written.
    pub brotli_files: usize,
    /// The bytes a client taking brotli loads: each file's `.br`, or the file where there is none.
    pub brotli: u64,
    /// `.gz` files written.
    pub gzip_files: usize,
    /// The bytes a client taking gzip (not brotli) loads.
    pub gzip: u64,
}

/// `cargo xtask precompress [DIR]`: [`precompress`] on `DIR` (default: `dist/` in the workspace), with a summary.
pub fn run(args: &[String]) -> Result {
    let dir = match args {
        [] => crate::workspace_root().join("dist"),
        [dir] => PathBuf::from(dir),
        _ => return Err("usage: cargo xtask precompress [DIR]".to_owned()),
    };
    let summary = precompress(&dir)?;
    println!("{}", summary.describe(&dir));
    Ok(())
}

impl Summary {
    /// One line: how many files, and the bytes of each encoding.
    pub fn describe(&self, dir: &Path) -> String {
        format!(
            "precompressed {} files in {} ({} bytes): {} .br ({} bytes for a brotli client), {} .gz ({} bytes for \
             a gzip client)",
            self.files,
            dir.display(),
            self.raw,
            self.brotli_files,
            self.brotli,
            self.gzip_files,
            self.gzip
        )
    }
}

/// Writes `NAME.br` and `NAME.gz` beside every compressible file under `dir` (recursively) where they are smaller.
pub fn precompress(dir: &Path) -> Result<Summary> {
    let mut summary = Summary::default();
    for path in files(dir)? {
        let compressible = path.extension().and_then(|e| e.to_str()).is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        summary.files += 1;
        summary.raw += bytes.len() as u64;
        let (written, size) = write_if_smaller(&path, "br", &brotli(&bytes), bytes.len())?;
        summary.brotli_files += usize::from(written);
        summary.brotli += size as u64;
        let (written, size) = write_if_smaller(&path, "gz", &gzip(&bytes), bytes.len())?;
        summary.gzip_files += usize::from(written);
        summary.gzip += size as u64;
    }
    Ok(summary)
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if kind.is_dir() {
            found.extend(files(&path)?);
        } else if kind.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Writes `compressed` to `path.EXT` when smaller than `raw` bytes (else removes a stale one); returns whether it
/// wrote, and the size a client choosing this encoding loads.
fn write_if_smaller(path: &Path, extension: &str, compressed: &[u8], raw: usize) -> Result<(bool, usize)> {
    let mut target = path.as_os_str().to_owned();
    target.push(".");
    target.push(extension);
    let target = PathBuf::from(target);
    if compressed.len() < raw {
        std::fs::write(&target, compressed).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        Ok((true, compressed.len()))
    } else {
        match std::fs::remove_file(&target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", target.display())),
        }
        Ok((false, raw))
    }
}

/// `bytes` as brotli, quality 11, window 22 (what `brotli -q 11` writes).
pub fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    encoder.write_all(bytes).expect("writing to memory");
    encoder.into_inner()
}

/// `bytes` as gzip, level 9.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compressible_files_get_br_and_gz_that_decode_to_them_and_others_are_left_alone() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("snippets")).unwrap();
        let js = "export function hello() { return 'hello'; }\n".repeat(100);
        let wasm: Vec<u8> = b"\0asm\x01\0\0\0".iter().copied().chain(std::iter::repeat_n(7u8, 5000)).collect();
        std::fs::write(dir.join("app-0123456789abcdef.js"), &js).unwrap();
        std::fs::write(dir.join("app-0123456789abcdef_bg.wasm"), &wasm).unwrap();
        std::fs::write(dir.join("snippets/inline.js"), &js).unwrap();
        // Too small to shrink, and a stale .gz from an older build beside it.
        std::fs::write(dir.join("tiny.css"), "a{}").unwrap();
        std::fs::write(dir.join("tiny.css.gz"), "stale").unwrap();
        // Already compressed: not touched.
        std::fs::write(dir.join("logo.png"), vec![1u8; 2000]).unwrap();

        let summary = precompress(&dir).unwrap();

        let mut names: Vec<String> =
            files(&dir).unwrap().iter().map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "app-0123456789abcdef.js",
                "app-0123456789abcdef.js.br",
                "app-0123456789abcdef.js.gz",
                "app-0123456789abcdef_bg.wasm",
                "app-0123456789abcdef_bg.wasm.br",
                "app-0123456789abcdef_bg.wasm.gz",
                "logo.png",
                "snippets/inline.js",
                "snippets/inline.js.br",
                "snippets/inline.js.gz",
                "tiny.css",
            ]
        );
        let mut decoded = String::new();
        let br = std::fs::read(dir.join("app-0123456789abcdef.js.br")).unwrap();
        brotli::Decompressor::new(&br[..], 4096).read_to_string(&mut decoded).unwrap();
        assert_eq!(decoded, js);
        let mut decoded = Vec::new();
        let gz = std::fs::read(dir.join("app-0123456789abcdef_bg.wasm.gz")).unwrap();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut decoded).unwrap();
        assert_eq!(decoded, wasm);

        assert_eq!((summary.files, summary.brotli_files, summary.gzip_files), (4, 3, 3));
        assert_eq!(summary.raw, (2 * js.len() + wasm.len() + 3) as u64);
        assert!(summary.brotli < summary.raw / 10 && summary.gzip < summary.raw / 10, "{summary:?}");
        // Run again (a rebuild): the same files, no .br of .br.
        assert_eq!(precompress(&dir).unwrap(), summary);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
