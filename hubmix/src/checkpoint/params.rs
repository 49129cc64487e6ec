//! The parameters a module has: path, shape, kind, type and the module type declaring each,
//! found without materialising any of them (a module fresh from its config draws nothing).

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Bool, DType, Int, Tensor};

/// One parameter of the module, in the module's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelParam {
    /// Its path (`encoder.layers.0.norm.gamma`).
    pub path: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    /// The innermost user module declaring it (`Struct:Linear`), if any.
    pub module_type: Option<String>,
}

impl ModelParam {
    /// Whether it is the 2-D weight of a Burn `Linear`: `[in, out]`, where PyTorch has
    /// `[out, in]`.
    pub(crate) fn is_linear_weight(&self) -> bool {
        self.module_type.as_deref() == Some("Struct:Linear")
            && self.path.ends_with("weight")
            && self.shape.len() == 2
    }

    /// The name PyTorch gives it when it differs from Burn's: norms' `gamma` / `beta` are
    /// `weight` / `bias`.
    pub(crate) fn pytorch_alias(&self) -> Option<String> {
        let norm = matches!(
            self.module_type.as_deref(),
            Some(
                "Struct:BatchNorm"
                    | "Struct:LayerNorm"
                    | "Struct:GroupNorm"
                    | "Struct:RmsNorm"
                    | "Struct:InstanceNorm"
            )
        );
        let (parent, leaf) = match self.path.rsplit_once('.') {
            Some((p, l)) => (format!("{p}."), l),
            None => (String::new(), self.path.as_str()),
        };
        let alias = match leaf {
            "gamma" if norm => "weight",
            "beta" if norm => "bias",
            _ => return None,
        };
        Some(format!("{parent}{alias}"))
    }
}

/// The parameters of `module`, with enum variant names left out of paths when
/// `skip_enum_variants` (PyTorch's naming).
pub(crate) fn model_params<M: Module>(module: &M, skip_enum_variants: bool) -> Vec<ModelParam> {
    let mut lister = Lister {
        path: ModulePath::new(skip_enum_variants),
        params: Vec::new(),
    };
    module.visit(&mut lister);
    lister.params
}

/// Where a [`ModuleVisitor`] is: the dotted path of the parameter it visits, named as
/// burn-store's `collect` names it, and the module types around it.
pub(crate) struct ModulePath {
    path: Vec<String>,
    /// Per entered level: its container type and whether it added a path segment.
    containers: Vec<(String, bool)>,
    skip_enum_variants: bool,
}

impl ModulePath {
    /// At the root; enum variant names are left out of paths when `skip_enum_variants`.
    pub(crate) fn new(skip_enum_variants: bool) -> Self {
        ModulePath {
            path: Vec::new(),
            containers: Vec::new(),
            skip_enum_variants,
        }
    }

    /// For [`ModuleVisitor::enter_module`].
    pub(crate) fn enter(&mut self, name: &str, container_type: &str) {
        let segment = !(self.skip_enum_variants && container_type.starts_with("Enum:"));
        if segment {
            self.path.push(name.to_owned());
        }
        self.containers.push((container_type.to_owned(), segment));
    }

    /// For [`ModuleVisitor::exit_module`].
    pub(crate) fn exit(&mut self) {
        if let Some((_, true)) = self.containers.pop() {
            self.path.pop();
        }
    }

    /// The dotted path of the parameter being visited.
    pub(crate) fn current(&self) -> String {
        self.path.join(".")
    }

    /// The innermost user module around it (`Struct:Linear`), if any.
    fn module_type(&self) -> Option<String> {
        self.containers
            .iter()
            .rev()
            .map(|(c, _)| c)
            .find(|c| c.starts_with("Struct:") || c.starts_with("Enum:"))
            .cloned()
    }
}

struct Lister {
    path: ModulePath,
    params: Vec<ModelParam>,
}

impl Lister {
    fn push<T>(&mut self, param: &Param<T>, dtype: DType)
    where
        T: burn::module::Parameter,
    {
        self.params.push(ModelParam {
            path: self.path.current(),
            shape: param.lazy_shape().as_slice().to_vec(),
            dtype,
            module_type: self.path.module_type(),
        });
    }
}

impl ModuleVisitor for Lister {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let dtype = if param.is_initialized() {
            param.val().dtype()
        } else {
            param.lazy_device().settings().float_dtype.into()
        };
        self.push(param, dtype);
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<D, Int>>) {
        let dtype = if param.is_initialized() {
            param.val().dtype()
        } else {
            param.lazy_device().settings().int_dtype.into()
        };
        self.push(param, dtype);
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<D, Bool>>) {
        self.push(param, DType::Bool(burn::tensor::BoolStore::Native));
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{LayerNormConfig, LinearConfig};
    use burn::tensor::Device;

    use super::*;

    #[derive(Module, Debug)]
    struct Block {
        fc: burn::nn::Linear,
        norm: burn::nn::LayerNorm,
        layers: Vec<burn::nn::Linear>,
    }

    #[test]
    fn params_are_listed_with_their_module_types_without_being_drawn() {
        let device = Device::flex();
        let block = Block {
            fc: LinearConfig::new(3, 2).init(&device),
            norm: LayerNormConfig::new(2).init(&device),
            layers: vec![LinearConfig::new(2, 2).with_bias(false).init(&device)],
        };
        let params = model_params(&block, true);
        let paths: Vec<&str> = params.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "fc.weight",
                "fc.bias",
                "norm.gamma",
                "norm.beta",
                "layers.0.weight"
            ]
        );
        assert_eq!(params[0].shape, [3, 2]);
        assert!(
            params[0].is_linear_weight() && !params[1].is_linear_weight() && params[4].is_linear_weight()
        );
        assert_eq!(params[2].pytorch_alias().as_deref(), Some("norm.weight"));
        assert_eq!(params[0].pytorch_alias(), None);
        assert_eq!(params[0].dtype, DType::F32);
        assert!(!block.fc.weight.is_initialized(), "listing drew the weight");
    }
}
