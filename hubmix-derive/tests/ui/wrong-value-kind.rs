use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use hubmix::HubModel;

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, license = 3, pipeline_tag = text_generation, library_name)]
#[hub(tags = "x", language = ["en", "fr"])]
#[hub(init_fn = 3, config_fn = "not a path", crate = 1)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

#[derive(Module, Debug, HubModel)]
#[hub(config = 3, tags(mlp, 1))]
pub struct Other {
    fc: Linear,
}

#[derive(Module, Debug, HubModel)]
#[hub(config, config_field = self.settings)]
pub struct Third {
    fc: Linear,
    #[module(skip)]
    settings: MlpConfig,
}

fn main() {}
