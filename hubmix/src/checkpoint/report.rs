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
    /// The name the checkpoint would give it, by analogy with the nearest parameter that was
    /// loaded (`encoder.layer.1.output.dense.bias` next to a loaded `...dense.weight`), when
    /// there is one.
    pub checkpoint_name: Option<String>,
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
    /// Bytes taken from the checkpoint's files (read, or mapped: `LoadOptions::mmap`).
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

/// The checkpoint name of `param` by analogy with the loaded parameter sharing the longest
/// path prefix with it: when that one's checkpoint name ends with its own path after the
/// shared prefix, the same ending is swapped for `param`'s.
pub(crate) fn name_by_analogy(param: &str, loaded: &[Assigned]) -> Option<String> {
    let shared = |a: &str| {
        a.split('.')
            .zip(param.split('.'))
            .take_while(|(x, y)| x == y)
            .map(|(x, _)| x.len() + 1)
            .sum::<usize>()
    };
    let best = loaded.iter().max_by_key(|a| shared(&a.param))?;
    let common = shared(&best.param).min(best.param.len()).min(param.len());
    if common == 0 {
        return None;
    }
    let (own_rest, param_rest) = (&best.param[common..], &param[common..]);
    let stem = best.tensor.origin.name.strip_suffix(own_rest)?;
    Some(format!("{stem}{param_rest}"))
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.missing {
            write!(
                f,
                "  MISSING    {} (in the model; the checkpoint has no ",
                m.param
            )?;
            match &m.checkpoint_name {
                Some(name) if !m.looked_for.contains(name) => writeln!(
                    f,
                    "{name}, which the weight map would make {})",
                    m.looked_for.join(" or ")
                )?,
                _ => writeln!(f, "{})", m.looked_for.join(" or "))?,
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(param: &str, origin: &str) -> Assigned {
        Assigned {
            param: param.into(),
            tensor: TensorRef {
                origin: TensorOrigin {
                    file: "model.safetensors".into(),
                    name: origin.into(),
                    shape: vec![2],
                    dtype: "F32".into(),
                },
                name: param.into(),
                shape: vec![2],
                steps: Vec::new(),
            },
        }
    }

    #[test]
    fn a_missing_parameter_is_named_as_the_checkpoint_would_name_it() {
        let loaded = [
            assigned(
                "encoder.layers.1.output.dense.weight",
                "bert.encoder.layer.1.output.dense.weight",
            ),
            assigned(
                "encoder.layers.0.output.dense.bias",
                "bert.encoder.layer.0.output.dense.bias",
            ),
            assigned("pooler.gamma", "pooler.weight"),
        ];
        assert_eq!(
            name_by_analogy("encoder.layers.1.output.dense.bias", &loaded).as_deref(),
            Some("bert.encoder.layer.1.output.dense.bias")
        );
        // A rename inside the differing part leaves nothing to go by.
        assert_eq!(name_by_analogy("pooler.beta", &loaded), None);
        assert_eq!(name_by_analogy("head.weight", &loaded), None);
    }
}
