from tenantcore.cli import main

main()
