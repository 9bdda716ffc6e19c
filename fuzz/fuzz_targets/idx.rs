//! `Idx::parse` (a raw IDX file in memory) as images and as labels, and `Split::from_idx` on a
//! pair: the first byte says where the images file ends and the labels file starts.
#![no_main]
use std::path::Path;

use bpdl::data::Split;
use bpdl::data::idx::{IMAGES_MAGIC, Idx, LABELS_MAGIC};
use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz-images-idx3-ubyte");
    let _ = Idx::parse(path, data, IMAGES_MAGIC, "images");
    let _ = Idx::parse(path, data, LABELS_MAGIC, "labels");
    if let Some((&cut, rest)) = data.split_first() {
        // labels are 8 + count bytes: the last `cut` bytes + 8 are the labels file
        let at = rest.len().saturating_sub(usize::from(cut) + 8);
        let (images, labels) = rest.split_at(at);
        if let (Ok(i), Ok(l)) = (
            Idx::parse(path, images, IMAGES_MAGIC, "images"),
            Idx::parse(
                Path::new("fuzz-labels-idx1-ubyte"),
                labels,
                LABELS_MAGIC,
                "labels",
            ),
        ) {
            let _ = Split::from_idx(i, l);
        }
    }
});
