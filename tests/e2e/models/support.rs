//! Helpers of the model tests: what a model holds (visited independently of hubmix and
//! burn-store), random weights, the expected effect of a storage dtype, a hub client, and raw
//! safetensors files (read, and written by hand to make bad ones).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{DType, Distribution, Tensor, TensorData};
use hubmix::{Device, HubClient, StorageType};
use hubmix_e2e::{ALICE_WRITE_TOKEN, TestHub};
use serde_json::{Value, json};

/// One float parameter or buffer: its dtype, shape and values (as f32).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamValue {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Every float tensor of a module by path (`fc1.weight`, `blocks.0.norm.gamma`,
/// `bn.running_mean`), read through Burn's own visitor.
pub fn params<M: Module>(module: &M) -> BTreeMap<String, ParamValue> {
    struct Collect {
        path: Vec<String>,
        found: BTreeMap<String, ParamValue>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = param.val().into_data();
            let value = ParamValue {
                dtype: data.dtype(),
                shape: data.shape().to_vec(),
                values: data
                    .convert_dtype(DType::F32)
                    .try_to_vec::<f32>()
                    .expect("f32 values"),
            };
            self.found.insert(self.path.join("."), value);
        }
    }
    let mut visitor = Collect {
        path: Vec::new(),
        found: BTreeMap::new(),
    };
    module.visit(&mut visitor);
    visitor.found
}

/// `module` with every float parameter and buffer replaced by random values: weights and
/// biases in [-1, 1), variances in [0.5, 1.5). Norm scales and running statistics then differ
/// from their initial ones, so a load that forgot them shows.
pub fn randomize<M: Module>(module: M) -> M {
    struct Randomize {
        path: Vec<String>,
    }
    impl ModuleMapper for Randomize {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let distribution = match self.path.last().map(String::as_str) {
                Some("running_var") => Distribution::Uniform(0.5, 1.5),
                _ => Distribution::Uniform(-1.0, 1.0),
            };
            param.map(|t| Tensor::random(t.shape(), distribution, &t.device()))
        }
    }
    module.map(&mut Randomize { path: Vec::new() })
}

/// `module` with every float rounded as storing it in `dtype` and reading it back as f32 does
/// (round to nearest even): what a load of a checkpoint saved in `dtype` must give.
pub fn rounded<M: Module>(module: M, dtype: StorageType) -> M {
    struct Round(DType);
    impl ModuleMapper for Round {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let to = self.0;
            param.map(|t| {
                let device = t.device();
                let data = t.into_data().convert_dtype(to).convert_dtype(DType::F32);
                Tensor::from_data(data, &device)
            })
        }
    }
    let to = match dtype {
        StorageType::F32 => return module,
        StorageType::F16 => DType::F16,
        StorageType::BF16 => DType::BF16,
    };
    module.map(&mut Round(to))
}

/// Bytes per element of a storage type.
pub fn element_size(dtype: StorageType) -> u64 {
    match dtype {
        StorageType::F32 => 4,
        StorageType::F16 | StorageType::BF16 => 2,
    }
}

/// The safetensors dtype name of a storage type.
pub fn st_dtype(dtype: StorageType) -> &'static str {
    match dtype {
        StorageType::F32 => "F32",
        StorageType::F16 => "F16",
        StorageType::BF16 => "BF16",
    }
}

/// Asserts that `loaded` holds exactly the parameters of `expected` (names, shapes, values to
/// the bit), all in f32 — the module's float type, whatever the storage type was — and gives
/// the same outputs.
pub fn assert_same_model<M: Module>(expected: &M, loaded: &M, output: impl Fn(&M) -> Vec<f32>, case: &str) {
    let want = params(expected);
    let got = params(loaded);
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "{case}: parameter names"
    );
    for (name, value) in &got {
        assert_eq!(
            value.dtype,
            DType::F32,
            "{case}: {name} must load as the module's f32"
        );
        let w = &want[name];
        assert_eq!(value.shape, w.shape, "{case}: shape of {name}");
        let same_bits = value
            .values
            .iter()
            .zip(&w.values)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same_bits, "{case}: values of {name} differ");
    }
    assert_eq!(output(loaded), output(expected), "{case}: outputs differ");
}

/// A float tensor of `shape` with random values in [-1, 1).
pub fn random_input<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), device)
}

/// A float tensor from flat values and a shape.
pub fn tensor_from<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The values of a float tensor, flattened.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().try_to_vec::<f32>().expect("f32 outputs")
}

/// A client of `hub` as alice (write token), caching into `cache`.
pub fn client(hub: &TestHub, cache: &Path) -> HubClient {
    HubClient::builder()
        .endpoint(hub.url())
        .token(ALICE_WRITE_TOKEN)
        .cache_dir(cache)
        .progress_bars(Some(false))
        .build()
        .expect("a client of the test hub")
}

/// A path as the `&str` that `from_pretrained` takes.
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Writes a JSON file.
pub fn write_json(path: &Path, value: &Value) {
    fs::write(path, serde_json::to_vec_pretty(value).expect("JSON serializes")).expect("writing JSON");
}

/// The f32 values of a JSON array of numbers, or of arrays of them, flattened.
pub fn floats(value: &Value) -> Vec<f32> {
    match value {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().expect("a number") as f32],
        other => panic!("not numbers: {other}"),
    }
}

/// Asserts that Burn's outputs agree with a reference's (PyTorch's) within `tolerance`.
pub fn assert_close(burn: &[f32], reference: &[f32], tolerance: f32, case: &str) {
    assert_eq!(burn.len(), reference.len(), "{case}: output sizes");
    let worst = burn
        .iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= tolerance,
        "{case}: Burn and the reference differ by {worst}\nBurn:      {burn:?}\nReference: {reference:?}"
    );
}

/// One tensor of a safetensors file, as raw bytes.
#[derive(Debug, Clone)]
pub struct RawTensor {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    pub data: Vec<u8>,
}

impl RawTensor {
    /// A tensor with these bytes.
    pub fn new(name: &str, dtype: &str, shape: &[u64], data: Vec<u8>) -> Self {
        RawTensor {
            name: name.to_owned(),
            dtype: dtype.to_owned(),
            shape: shape.to_vec(),
            data,
        }
    }
}

/// The JSON header of a safetensors file (`__metadata__` included).
pub fn read_header(path: &Path) -> serde_json::Map<String, Value> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    match serde_json::from_slice(&bytes[8..8 + len]).expect("a JSON header") {
        Value::Object(map) => map,
        other => panic!("the header of {} is {other}", path.display()),
    }
}

/// The metadata and tensors of a safetensors file.
pub fn read_safetensors(path: &Path) -> (Value, Vec<RawTensor>) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let data = &bytes[8 + len..];
    let mut metadata = Value::Null;
    let mut tensors = Vec::new();
    for (name, entry) in read_header(path) {
        if name == "__metadata__" {
            metadata = entry;
            continue;
        }
        let offsets: Vec<usize> = serde_json::from_value(entry["data_offsets"].clone()).expect("offsets");
        tensors.push(RawTensor {
            name,
            dtype: entry["dtype"].as_str().expect("a dtype").to_owned(),
            shape: serde_json::from_value(entry["shape"].clone()).expect("a shape"),
            data: data[offsets[0]..offsets[1]].to_vec(),
        });
    }
    (metadata, tensors)
}

/// Writes a safetensors file by hand: the header says what the tensors say, however wrong.
pub fn write_safetensors(path: &Path, metadata: &Value, tensors: &[RawTensor]) {
    let mut header = serde_json::Map::new();
    if !metadata.is_null() {
        header.insert("__metadata__".into(), metadata.clone());
    }
    let mut offset = 0;
    for t in tensors {
        let end = offset + t.data.len();
        header.insert(
            t.name.clone(),
            json!({"dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let header = serde_json::to_vec(&header).expect("JSON serializes");
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&header);
    for t in tensors {
        bytes.extend_from_slice(&t.data);
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Little-endian bytes of f32 values.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The f32 values of little-endian bytes.
pub fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}
