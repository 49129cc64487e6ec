//! [`LoadReport`]: what a load assigned, and what did not fit, each entry named both as the
//! checkpoint has it (file, name, shape, dtype) and as the model has it (path, shape, dtype).

use std::fmt;

use super::lazy::TensorOrigin;

/// A parameter as the model has it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamRef {
    /// Its path in the module (`encoder.layers.0.norm.gamma`).
    pub path: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its element type (`F32`, ...).
    pub dtype: String,
}

impl fmt::Display for ParamRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} {}", self.path, self.shape, self.dtype)
    }
}

/// A tensor of the checkpoint on its way to a parameter: where it comes from, the name the
/// weight map gave it, and what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TensorRef {
    /// The tensor as the checkpoint has it.
    pub origin: TensorOrigin,
    /// Its name after the weight map (the model's vocabulary).
    pub name: String,
    /// Its shape after the weight map and the layout (what the parameter receives).
    pub shape: Vec<usize>,
    /// What was done to it (`entries 0..32 of axis 1`, `transposed`), in order.
    pub steps: Vec<String>,
}

impl fmt::Display for TensorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if self.name != self.origin.name {
            write!(f, ", mapped to {}", self.name)?;
        }
        if !self.steps.is_empty() {
            write!(f, ", {}", self.steps.join(", "))?;
        }
        if self.shape != self.origin.shape {
            write!(f, ", giving {:?}", self.shape)?;
        }
        Ok(())
    }
}

/// A parameter and the tensor assigned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Assigned {
    /// The parameter's path.
    pub param: String,
    /// Where its values came from.
    pub tensor: TensorRef,
}

/// A parameter no tensor was found for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Missing {
    /// The parameter.
    pub param: ParamRef,
    /// The names looked for after the weight map (the path, and PyTorch's name for it).
    pub looked_for: Vec<String>,
}

/// A tensor and a parameter of different shapes, or of different kinds (a float tensor for
/// an integer parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mismatch {
    /// The parameter.
    pub param: ParamRef,
    /// The tensor that was meant for it.
    pub tensor: TensorRef,
}

/// What a load did: what it assigned and what did not fit. A strict load that leaves a
/// parameter unset (`missing`, `mismatched`, `errors`) fails with it in
/// [`Error::WeightsMismatch`](crate::Error::WeightsMismatch); a lenient one returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadReport {
    /// Every parameter that was set, and from what.
    pub loaded: Vec<Assigned>,
    /// Parameters the checkpoint has nothing for (they keep their initial values).
    pub missing: Vec<Missing>,
    /// Tensors of the checkpoint no parameter took (integer buffers such as `position_ids`,
    /// a head the model does not have).
    pub unexpected: Vec<TensorRef>,
    /// Tensors that do not fit their parameter.
    pub mismatched: Vec<Mismatch>,
    /// Tensors the weight map's `allow` / `ignore` patterns left unread.
    pub ignored: Vec<TensorOrigin>,
    /// Other problems (unreadable tensors), one line each.
    pub errors: Vec<String>,
    /// Compatibility warnings (versions), one line each.
    pub warnings: Vec<String>,
    /// Bytes read from the checkpoint's files.
    pub bytes_read: u64,
}

impl LoadReport {
    /// Whether every weight fit exactly: nothing missing, unexpected, mismatched or failed.
    pub fn is_clean(&self) -> bool {
        self.is_complete() && self.unexpected.is_empty()
    }

    /// Whether every parameter was set (unexpected tensors aside).
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.mismatched.is_empty() && self.errors.is_empty()
    }

    /// The paths of the missing parameters.
    pub fn missing_names(&self) -> Vec<&str> {
        self.missing.iter().map(|m| m.param.path.as_str()).collect()
    }

    /// The names of the unexpected tensors as the checkpoint has them.
    pub fn unexpected_names(&self) -> Vec<&str> {
        self.unexpected.iter().map(|t| t.origin.name.as_str()).collect()
    }

    /// The checkpoint tensor a parameter was loaded from.
    pub fn source_of(&self, param: &str) -> Option<&TensorRef> {
        self.loaded.iter().find(|a| a.param == param).map(|a| &a.tensor)
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.missing {
            writeln!(
                f,
                "  MISSING    {} (in the model; the checkpoint has no {})",
                m.param,
                m.looked_for.join(" or ")
            )?;
        }
        for t in &self.unexpected {
            writeln!(
                f,
                "  UNEXPECTED {t} (in the checkpoint; the model has no such parameter)"
            )?;
        }
        for m in &self.mismatched {
            writeln!(f, "  MISMATCH   {}: the checkpoint's {}", m.param, m.tensor)?;
        }
        for e in &self.errors {
            writeln!(f, "  ERROR      {e}")?;
        }
        Ok(())
    }
}
