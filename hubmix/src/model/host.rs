//! The bytes of float parameters that live in host memory, borrowed for writing: on Burn's
//! `flex` CPU backend (hubmix's `flex` feature, on by default) a contiguous tensor's buffer is
//! written to the file as it is, with no read-back copy, as torch writes its tensors. Other
//! backends, strided views (a parameter whose save mapper transposes it) and anything the save
//! must convert are read back through burn-store instead.

use std::collections::HashMap;
use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Bytes, DType, Tensor};

use crate::checkpoint::params::ModulePath;

/// A float parameter's bytes in host memory, in the order a safetensors file stores them.
#[derive(Clone)]
pub(crate) struct HostBuffer {
    data: Arc<Bytes>,
    len: usize,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl HostBuffer {
    /// The parameter's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

impl AsRef<[u8]> for HostBuffer {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

/// The host buffers of `module`'s float parameters, by path (as burn-store's
/// `collect` names them with the same `skip_enum_variants`), each as its save mapper gives it.
pub(crate) fn host_buffers<M: Module>(module: &M, skip_enum_variants: bool) -> HashMap<String, HostBuffer> {
    let mut borrower = Borrower {
        path: ModulePath::new(skip_enum_variants),
        buffers: HashMap::new(),
    };
    module.visit(&mut borrower);
    borrower.buffers
}

struct Borrower {
    path: ModulePath,
    buffers: HashMap<String, HostBuffer>,
}

impl ModuleVisitor for Borrower {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // As burn-store's `collect`: a lazy parameter is initialized (the save writes it anyway).
        if let Some(buffer) = borrow(param.transform_for_save().val()) {
            self.buffers.insert(self.path.current(), buffer);
        }
    }
}

/// The buffer of a contiguous `flex` tensor that starts at its beginning.
#[cfg(feature = "flex")]
fn borrow<const D: usize>(tensor: Tensor<D>) -> Option<HostBuffer> {
    let tensor = tensor.try_into_primitive::<burn::backend::Flex>().ok()?;
    let layout = tensor.layout();
    if !layout.is_contiguous() || layout.start_offset() != 0 {
        return None;
    }
    let len = layout.num_elements().checked_mul(tensor.dtype().size())?;
    let data = tensor.data_arc();
    (data.len() >= len).then(|| HostBuffer {
        data,
        len,
        dtype: tensor.dtype(),
        shape: layout.shape().to_vec(),
    })
}

/// Without the `flex` backend, every tensor is read back.
#[cfg(not(feature = "flex"))]
fn borrow<const D: usize>(_tensor: Tensor<D>) -> Option<HostBuffer> {
    None
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use burn::nn::{Linear, LinearConfig, LinearLayout};
    use burn::store::ModuleSnapshot;
    use burn::tensor::{Device, Distribution};

    use super::*;

    #[derive(Module, Debug)]
    struct Trio {
        row: Linear,
        col: Linear,
        view: Param<Tensor<2>>,
    }

    fn trio(device: &Device) -> Trio {
        let stored: Tensor<2> = Tensor::random([3, 2], Distribution::Default, device);
        Trio {
            row: LinearConfig::new(3, 2).init(device),
            // Held as a transposed view of [out, in]; its save mapper gives [out, in] back.
            col: LinearConfig::new(3, 2)
                .with_layout(LinearLayout::Col)
                .init(device),
            // A strided view with no save mapper: its buffer is not in the order it is saved.
            view: Param::from_tensor(stored.transpose()),
        }
    }

    #[test]
    fn borrowed_buffers_hold_what_the_save_writes_and_strided_views_are_read_back() {
        let module = trio(&Device::flex());
        let buffers = host_buffers(&module, false);
        let collected = module.collect(None, None, false);
        for t in &collected {
            if let Some(own) = buffers.get(&t.name) {
                assert_eq!(own.shape.as_slice(), t.shape.as_slice(), "{}", t.name);
                assert_eq!(own.dtype, t.dtype, "{}", t.name);
                assert_eq!(own.bytes(), &t.to_bytes().expect("read back")[..], "{}", t.name);
            }
        }
        let mut names: Vec<&str> = buffers.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["col.bias", "col.weight", "row.bias", "row.weight"]);
        assert_eq!(buffers["col.weight"].shape, [2, 3], "saved as [out, in]");
    }

    #[test]
    fn autodiff_tensors_are_read_back() {
        assert!(host_buffers(&trio(&Device::flex().autodiff()), false).is_empty());
    }
}
