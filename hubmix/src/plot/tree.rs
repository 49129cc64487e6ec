//! A Burn module's tree (sub-modules, their types, parameter shapes) as a [`ModuleNode`], for
//! the architecture picture and table of the model card. Nothing is materialised: shapes are
//! read lazily.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Bool, Int, Tensor};

use crate::plot::{ModuleNode, ParamLeaf};

/// The tree of `module`, whose root is labelled `root_kind` (the Rust type name).
pub(crate) fn module_tree<M: Module>(module: &M, root_kind: &str, float_dtype: &str) -> ModuleNode {
    let mut builder = TreeBuilder {
        stack: vec![ModuleNode {
            kind: format!("Struct:{root_kind}"),
            ..ModuleNode::default()
        }],
        float_dtype: float_dtype.to_owned(),
    };
    module.visit(&mut builder);
    builder.stack.pop().expect("the root stays on the stack")
}

struct TreeBuilder {
    /// The path from the root to the node being visited.
    stack: Vec<ModuleNode>,
    float_dtype: String,
}

impl TreeBuilder {
    /// A parameter: the node entered for its field becomes a leaf of its parent.
    fn leaf(&mut self, shape: Vec<usize>, dtype: &str) {
        let node = self
            .stack
            .last_mut()
            .expect("a parameter is visited inside its field");
        node.kind = "Param".into();
        node.params.push(ParamLeaf {
            name: String::new(),
            shape,
            dtype: dtype.to_owned(),
        });
    }
}

impl ModuleVisitor for TreeBuilder {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        // Burn names the container of a field, not the field's own type: the parent learns
        // its type from its children.
        let parent = self.stack.last_mut().expect("the root stays on the stack");
        if parent.kind.is_empty() {
            parent.kind = container_type.to_owned();
        }
        self.stack.push(ModuleNode {
            name: name.to_owned(),
            ..ModuleNode::default()
        });
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        let mut node = self.stack.pop().expect("enter and exit pair up");
        let parent = self.stack.last_mut().expect("the root stays on the stack");
        if node.kind == "Param" {
            // A parameter field: keep it as a parameter of its module, not as a sub-module.
            let mut leaf = node.params.pop().expect("a parameter node holds its parameter");
            leaf.name = node.name;
            parent.params.push(leaf);
        } else {
            // A module without parameters or sub-modules (an activation) keeps an empty kind:
            // Burn does not say its type.
            parent.children.push(node);
        }
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let dtype = self.float_dtype.clone();
        self.leaf(param.lazy_shape().to_vec(), &dtype);
    }

    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<D, Int>>) {
        self.leaf(param.lazy_shape().to_vec(), "int");
    }

    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<D, Bool>>) {
        self.leaf(param.lazy_shape().to_vec(), "bool");
    }
}
