// An enum model: the config comes from `config_fn`, the module from `init_fn`.
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use hubmix::{Device, HubModel};

#[derive(Config, Debug)]
pub struct BlockConfig {
    pub width: usize,
    pub linear: bool,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = BlockConfig, config_fn = Block::config, init_fn = Block::new, tags("enum"))]
pub enum Block {
    Linear(Linear),
    Relu(Relu),
}

impl Block {
    fn new(config: &BlockConfig, device: &Device) -> Self {
        match config.linear {
            true => Block::Linear(LinearConfig::new(config.width, config.width).init(device)),
            false => Block::Relu(Relu::new()),
        }
    }

    fn config(&self) -> BlockConfig {
        match self {
            Block::Linear(linear) => BlockConfig::new(linear.weight.val().dims()[0], true),
            Block::Relu(_) => BlockConfig::new(0, false),
        }
    }
}

fn main() {
    let device = Device::default();
    let block = Block::hub_init(&BlockConfig::new(4, true), &device);
    assert_eq!(block.hub_config().width, 4);
    assert!(matches!(
        Block::hub_init(&BlockConfig::new(0, false), &device),
        Block::Relu(_)
    ));
    assert_eq!(Block::hub_info().tags, ["enum"]);
}
