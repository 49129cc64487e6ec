// A plain struct with every attribute: the derive compiles, and `hub_info` says what was written.
use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use hubmix::{Device, HubModel, Layout, ModelInfo};

#[derive(Config, Debug)]
pub struct MlpConfig {
    pub d_in: usize,
    pub d_out: usize,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            fc: LinearConfig::new(self.d_in, self.d_out).init(device),
            config: self.clone(),
        }
    }
}

#[derive(Module, Debug, HubModel)]
#[hub(config = MlpConfig, library_name = "burn", tags("mlp", "tiny"), license = "mit")]
#[hub(pipeline_tag = "tabular-regression", language("en"), layout = "pytorch")]
#[hub(
    repo_url = "https://github.com/alice/mlp",
    paper_url = "https://arxiv.org/abs/1",
    docs_url = "https://docs.rs/mlp"
)]
pub struct Mlp {
    fc: Linear,
    #[module(skip)]
    config: MlpConfig,
}

fn main() {
    let info: &ModelInfo = Mlp::hub_info();
    assert_eq!(info.type_name, "Mlp");
    assert_eq!(info.tags, ["mlp", "tiny"]);
    assert_eq!(info.license, Some("mit"));
    assert_eq!(info.pipeline_tag, Some("tabular-regression"));
    assert_eq!(info.language, ["en"]);
    assert_eq!(info.repo_url, Some("https://github.com/alice/mlp"));
    assert_eq!(info.layout, Layout::PyTorch);

    let device = Device::default();
    let model = MlpConfig::new(3, 2).init(&device);
    assert_eq!(model.hub_config().d_out, 2);
    let rebuilt = Mlp::hub_init(&model.hub_config(), &device);
    assert_eq!(rebuilt.num_params(), model.num_params());
}
