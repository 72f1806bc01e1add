//! Output files: their names under `/files/` and their deterministic pseudo-random contents.

use std::fmt;

use bytes::Bytes;

use crate::store::splitmix64;

/// What an output file holds; decides its extension, content type and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputKind {
    Video,
    /// Dreamina `coverUrl`.
    Cover,
    /// Google Flow `thumbnailUrl`.
    Thumbnail,
    Image,
}

impl OutputKind {
    fn word(self) -> &'static str {
        match self {
            OutputKind::Video => "video",
            OutputKind::Cover => "cover",
            OutputKind::Thumbnail => "thumb",
            OutputKind::Image => "image",
        }
    }

    fn extension(self) -> &'static str {
        if self == OutputKind::Video { "mp4" } else { "jpg" }
    }

    pub fn content_type(self) -> &'static str {
        if self == OutputKind::Video { "video/mp4" } else { "image/jpeg" }
    }

    pub fn is_video(self) -> bool {
        self == OutputKind::Video
    }
}

/// `<serial>-<kind>-<index>.<ext>`, e.g. `17-video-0.mp4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileName {
    pub serial: u64,
    pub output: OutputKind,
    pub index: u32,
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}.{}", self.serial, self.output.word(), self.index, self.output.extension())
    }
}

impl FileName {
    /// Reads a name produced by `Display`; anything else is not a sandbox file.
    pub fn parse(name: &str) -> Option<FileName> {
        let (stem, ext) = name.rsplit_once('.')?;
        let mut parts = stem.splitn(3, '-');
        let serial = parts.next()?.parse().ok()?;
        let output = match parts.next()? {
            "video" => OutputKind::Video,
            "cover" => OutputKind::Cover,
            "thumb" => OutputKind::Thumbnail,
            "image" => OutputKind::Image,
            _ => return None,
        };
        let index = parts.next()?.parse().ok()?;
        (ext == output.extension()).then_some(FileName { serial, output, index })
    }
}

/// `len` deterministic bytes for `name`, starting with the format's magic number so tools
/// recognise the file type.
pub(crate) fn contents(name: &FileName, len: usize) -> Bytes {
    let magic: &[u8] = if name.output.is_video() { MP4_MAGIC } else { JPEG_MAGIC };
    let seed = splitmix64(name.serial ^ (u64::from(name.index) << 32)) ^ name.output.word().len() as u64;
    pseudo_random(magic, seed, len)
}

/// The first bytes of an MP4 file (an `ftyp` box).
pub(crate) const MP4_MAGIC: &[u8] = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom";

/// The first bytes of a JPEG (JFIF) file.
pub(crate) const JPEG_MAGIC: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";

/// The first bytes of a WebP file (a RIFF container; the sandbox does not fill in its size).
pub(crate) const WEBP_MAGIC: &[u8] = b"RIFF\0\0\0\0WEBPVP8 ";

/// `len` bytes: `magic` (cut to `len`), then deterministic noise from `seed`.
pub(crate) fn pseudo_random(magic: &[u8], seed: u64, len: usize) -> Bytes {
    let mut state = seed;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&magic[..magic.len().min(len)]);
    while out.len() < len {
        state = splitmix64(state);
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&state.to_le_bytes()[..take]);
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_strangers() {
        let name = FileName { serial: 17, output: OutputKind::Thumbnail, index: 2 };
        assert_eq!(name.to_string(), "17-thumb-2.jpg");
        assert_eq!(FileName::parse("17-thumb-2.jpg"), Some(name));
        for bad in ["17-thumb-2.mp4", "x-video-0.mp4", "17-audio-0.mp3", "17-video.mp4", "../etc"] {
            assert_eq!(FileName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn contents_are_deterministic_and_sized() {
        let name = FileName { serial: 3, output: OutputKind::Video, index: 0 };
        let a = contents(&name, 1000);
        assert_eq!(a.len(), 1000);
        assert_eq!(a, contents(&name, 1000));
        assert_eq!(&a[4..8], b"ftyp");
        assert_eq!(contents(&name, 3).len(), 3);
    }
}
