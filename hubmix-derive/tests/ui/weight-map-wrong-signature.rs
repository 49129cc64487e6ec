use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct Gpt2Config {
    pub d_model: usize,
}

impl Gpt2Config {
    pub fn init(&self, device: &hubmix::Device) -> Gpt2 {
        Gpt2 { fc: burn::nn::LinearConfig::new(self.d_model, 1).init(device), config: self.clone() }
    }
}

// `weight_map` is a `fn() -> WeightMap`: the type error points at the path.
#[derive(Module, Debug, HubModel)]
#[hub(config = Gpt2Config, weight_map = gpt2_weights)]
pub struct Gpt2 {
    fc: Linear,
    #[module(skip)]
    config: Gpt2Config,
}

fn gpt2_weights(prefix: &str) -> String {
    prefix.to_owned()
}

fn main() {}
