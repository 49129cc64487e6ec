//! The architectures under test, each a `#[derive(HubModel)]` Burn module with a forward pass
//! on a fixed-shape input: Linear, Conv2d + BatchNorm (with its running statistics),
//! Embedding + LayerNorm, nested modules with a `Vec` of them, and an enum (`config_fn`).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::activation::relu;
use burn::tensor::{Int, Tensor, TensorData};
use hubmix::{Device, HubModel};

use super::support::{randomize, values};

/// A model under test.
pub trait Arch: HubModel {
    /// A model with random values in every float parameter and buffer.
    fn random(device: &Device) -> Self;

    /// The output on a fixed input, flattened.
    fn output(&self) -> Vec<f32>;
}

/// Linear layers (with an activation a config override can switch off).
#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
    pub d_hidden: usize,
    pub d_out: usize,
    #[config(default = true)]
    pub relu: bool,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            fc1: LinearConfig::new(self.d_in, self.d_hidden).init(device),
            fc2: LinearConfig::new(self.d_hidden, self.d_out).init(device),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, tags("mlp"), license = "mit")]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
    #[module(skip)]
    pub config: MlpConfig,
}

impl Mlp {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = self.fc1.forward(x);
        let h = if self.config.relu { relu(h) } else { h };
        self.fc2.forward(h)
    }
}

/// A fixed input of `Mlp::random`'s width.
fn mlp_input(device: &Device) -> Tensor<2> {
    Tensor::from_floats([[0.5, -1.0, 2.0, 0.25], [-0.75, 1.5, 0.0, -2.0]], device)
}

impl Arch for Mlp {
    fn random(device: &Device) -> Self {
        randomize(MlpConfig::new(4, 8, 3).init(device))
    }

    fn output(&self) -> Vec<f32> {
        values(self.forward(mlp_input(&self.fc1.weight.lazy_device())))
    }
}

/// Conv2d (3x3, no padding), BatchNorm, a Linear head.
#[derive(Config, Debug)]
pub struct CnnConfig {
    pub channels: usize,
    pub features: usize,
    pub size: usize,
    pub classes: usize,
}

impl CnnConfig {
    pub fn init(&self, device: &Device) -> Cnn {
        let side = self.size - 2;
        Cnn {
            conv: Conv2dConfig::new([self.channels, self.features], [3, 3]).init(device),
            bn: BatchNormConfig::new(self.features).init(device),
            head: LinearConfig::new(self.features * side * side, self.classes).init(device),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(config = CnnConfig, tags("vision"), pipeline_tag = "image-classification")]
pub struct Cnn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
    pub head: Linear,
    #[module(skip)]
    pub config: CnnConfig,
}

impl Cnn {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let h = relu(self.bn.forward(self.conv.forward(x)));
        self.head.forward(h.flatten(1, 3))
    }
}

impl Arch for Cnn {
    fn random(device: &Device) -> Self {
        randomize(CnnConfig::new(2, 4, 6, 3).init(device))
    }

    fn output(&self) -> Vec<f32> {
        let device = self.head.weight.lazy_device();
        let n = 2 * 2 * 6 * 6;
        let x = (0..n)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 4.0)
            .collect::<Vec<_>>();
        values(self.forward(Tensor::from_data(TensorData::new(x, [2, 2, 6, 6]), &device)))
    }
}

/// Embedding, LayerNorm, a Linear per token.
#[derive(Config, Debug)]
pub struct TaggerConfig {
    pub vocab: usize,
    pub d_model: usize,
    pub tags: usize,
}

impl TaggerConfig {
    pub fn init(&self, device: &Device) -> Tagger {
        Tagger {
            embed: EmbeddingConfig::new(self.vocab, self.d_model).init(device),
            norm: LayerNormConfig::new(self.d_model).init(device),
            out: LinearConfig::new(self.d_model, self.tags).init(device),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(config = TaggerConfig, language("en"))]
pub struct Tagger {
    pub embed: Embedding,
    pub norm: LayerNorm,
    pub out: Linear,
    #[module(skip)]
    pub config: TaggerConfig,
}

impl Tagger {
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.out.forward(self.norm.forward(self.embed.forward(tokens)))
    }
}

impl Arch for Tagger {
    fn random(device: &Device) -> Self {
        randomize(TaggerConfig::new(10, 6, 3).init(device))
    }

    fn output(&self) -> Vec<f32> {
        let device = self.out.weight.lazy_device();
        let tokens = Tensor::<2, Int>::from_ints([[1, 4, 9, 0, 2], [3, 3, 7, 5, 8]], &device);
        values(self.forward(tokens))
    }
}

/// A nested module: Linear then LayerNorm.
#[derive(Module, Debug)]
pub struct Block {
    pub linear: Linear,
    pub norm: LayerNorm,
}

impl Block {
    pub fn new(width: usize, device: &Device) -> Self {
        Block {
            linear: LinearConfig::new(width, width).init(device),
            norm: LayerNormConfig::new(width).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        relu(self.norm.forward(self.linear.forward(x)))
    }
}

/// Nested modules: a block, then a `Vec` of blocks.
#[derive(Config, Debug)]
pub struct StackConfig {
    pub width: usize,
    pub depth: usize,
}

impl StackConfig {
    pub fn init(&self, device: &Device) -> Stack {
        Stack {
            stem: Block::new(self.width, device),
            blocks: (0..self.depth).map(|_| Block::new(self.width, device)).collect(),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(config = StackConfig)]
pub struct Stack {
    pub stem: Block,
    pub blocks: Vec<Block>,
    #[module(skip)]
    pub config: StackConfig,
}

impl Stack {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.blocks.iter().fold(self.stem.forward(x), |h, b| b.forward(h))
    }
}

impl Arch for Stack {
    fn random(device: &Device) -> Self {
        randomize(StackConfig::new(5, 3).init(device))
    }

    fn output(&self) -> Vec<f32> {
        let device = self.stem.linear.weight.lazy_device();
        let x = Tensor::from_floats(
            [[0.1, -0.2, 0.3, -0.4, 0.5], [1.0, 0.5, -0.5, -1.0, 0.0]],
            &device,
        );
        values(self.forward(x))
    }
}

/// An enum module whose config comes from a function: a deep head (a nested block) or a
/// shallow one (one Linear).
#[derive(Module, Debug, HubModel)]
#[hub(config = HeadConfig, config_fn = Head::config, init_fn = Head::new)]
pub enum Head {
    Deep(Block),
    Shallow(Linear),
}

#[derive(Config, Debug)]
pub struct HeadConfig {
    pub width: usize,
    pub deep: bool,
}

impl Head {
    pub fn new(config: &HeadConfig, device: &Device) -> Self {
        match config.deep {
            true => Head::Deep(Block::new(config.width, device)),
            false => Head::Shallow(LinearConfig::new(config.width, config.width).init(device)),
        }
    }

    pub fn config(&self) -> HeadConfig {
        match self {
            Head::Deep(block) => HeadConfig::new(block.linear.weight.val().dims()[0], true),
            Head::Shallow(linear) => HeadConfig::new(linear.weight.val().dims()[0], false),
        }
    }

    /// A random shallow head (`random` gives a deep one).
    pub fn random_shallow(device: &Device) -> Self {
        randomize(Head::new(&HeadConfig::new(4, false), device))
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Head::Deep(block) => block.forward(x),
            Head::Shallow(linear) => linear.forward(x),
        }
    }

    fn device(&self) -> Device {
        match self {
            Head::Deep(block) => block.linear.weight.lazy_device(),
            Head::Shallow(linear) => linear.weight.lazy_device(),
        }
    }
}

impl Arch for Head {
    fn random(device: &Device) -> Self {
        randomize(Head::new(&HeadConfig::new(4, true), device))
    }

    fn output(&self) -> Vec<f32> {
        values(self.forward(mlp_input(&self.device())))
    }
}
