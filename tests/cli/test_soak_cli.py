"""`cnn-viewer soak` reaches the soak runner's own parser."""

from cnn_viewer.cli.commands import build_parser, main


def test_soak_is_a_subcommand_with_its_own_options(capsys):
    assert main(["soak", "--seconds", "1", "--warmup", "2"]) == 1
    assert "--seconds 1 must be longer than --warmup 2" in capsys.readouterr().err
    assert main(["soak", "--no-such-option"]) == 2
    assert "soak" in build_parser().format_help()
