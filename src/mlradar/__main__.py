from mlradar.cli import main

main()
